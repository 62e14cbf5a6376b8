"""Where attachment bytes live: a local directory (one machine) or an S3-compatible bucket (several)."""

from __future__ import annotations

from pathlib import Path

from linq_server.storage.base import Storage
from linq_server.storage.local import LocalStorage


def open_storage(url: str | None, data_dir: Path) -> Storage:
    """``LINQ_SERVER_STORAGE_URL``: unset or ``file:///path`` for a directory, ``s3://bucket/prefix?...`` for S3."""
    if not url:
        return LocalStorage(data_dir / "attachments")
    if url.startswith("file://"):
        return LocalStorage(Path(url.removeprefix("file://")))
    if url.startswith("s3://"):
        from linq_server.storage.s3 import S3Storage  # boto3 loads only when S3 is configured

        return S3Storage(url)
    raise ValueError(f"unsupported storage URL (use file:///path or s3://bucket/prefix): {url!r}")
