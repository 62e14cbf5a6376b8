"""The durable job queue: jobs are rows in the same database as everything else."""
