"""A database URL that cannot work stops ``serve`` with one line that says why, exit code 2, and nothing made."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest


@pytest.mark.parametrize(
    ("url", "said"),
    [
        ("mysql://user@host/db", "unsupported database 'mysql': use sqlite:///PATH or postgresql://USER@HOST:PORT/DB"),
        ("not a url", "'not a url' is not a database URL: use sqlite:///PATH or postgresql://USER@HOST:PORT/DB"),
        (
            "sqlite://data/linq.db",
            "'sqlite://data/linq.db' is not a SQLite file URL: a relative path is sqlite:///data/linq.db (three"
            " slashes), an absolute one sqlite:////var/lib/linq.db (four)",
        ),
        ("sqlite:///blocker/linq.db", "cannot make the folder of blocker/linq.db: File exists"),
        (
            "postgresql://postgres@127.0.0.1:1/linq",
            "cannot reach PostgreSQL at 127.0.0.1:1: [Errno 111] Connect call failed ('127.0.0.1', 1)",
        ),
    ],
)
def test_a_database_url_that_cannot_work_is_one_line_and_exit_2(url: str, said: str, tmp_path: Path) -> None:
    (tmp_path / "blocker").write_text("a file where the database's folder would go")
    before = sorted(tmp_path.rglob("*"))
    env = {**os.environ, "LINQ_SERVER_DATABASE_URL": url, "LINQ_SERVER_DATA_DIR": str(tmp_path / "data")}
    served = subprocess.run(
        [sys.executable, "-m", "linq_server", "serve", "--port", "0"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert served.returncode == 2
    assert [line for line in (served.stdout + served.stderr).splitlines() if line.strip()] == [
        f"LINQ_SERVER_DATABASE_URL: {said}"
    ]
    assert sorted(tmp_path.rglob("*")) == before  # no empty database, no data folder
