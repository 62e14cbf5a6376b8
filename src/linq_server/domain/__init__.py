"""The rules of the Linq API, free of HTTP and SQL."""
