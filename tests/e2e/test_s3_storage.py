"""The server with its attachments in S3 (a real S3-compatible server): upload, download, delete."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from linq import LinqAPIV3

from linq_server.domain.partners import generate_api_key
from tests.support.phones import new_phone
from tests.support.s3 import CREDENTIALS, S3Server
from tests.support.server import ServerProcess


@pytest.fixture
def bucket(s3_server: S3Server) -> str:
    return s3_server.new_bucket()


@pytest.fixture
def s3_backed(fresh_database_url: str, tmp_path: Path, s3_server: S3Server, bucket: str) -> Iterator[ServerProcess]:
    env = {"LINQ_SERVER_STORAGE_URL": s3_server.url(bucket), **CREDENTIALS}
    process = ServerProcess(fresh_database_url, tmp_path / "data", generate_api_key(), [new_phone(0)], extra_env=env)
    process.start(timeout=60)
    yield process
    process.stop()


def test_attachments_live_in_the_bucket(
    s3_backed: ServerProcess, s3_server: S3Server, bucket: str, tmp_path: Path
) -> None:
    data = os.urandom(7 * 1024 * 1024)  # more than one S3 part
    with LinqAPIV3(api_key=s3_backed.api_key, base_url=s3_backed.base_url, _strict_response_validation=True) as sdk:
        offer = sdk.attachments.create(filename="clip.mp4", content_type="video/mp4", size_bytes=len(data))
        assert httpx.put(offer.upload_url, content=data, headers=offer.required_headers, timeout=60).status_code == 200
        (key,) = s3_server.keys(bucket)
        assert key.startswith("attachments/") and f"/{offer.attachment_id}/" in key
        assert httpx.get(offer.download_url, timeout=60).content == data
        local = tmp_path / "data" / "attachments"
        assert not local.exists() or not any(local.rglob("*"))  # nothing went to the local directory
        sdk.attachments.delete(offer.attachment_id)
    assert s3_server.keys(bucket) == []
    assert httpx.get(offer.download_url).status_code == 404
