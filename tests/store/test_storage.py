"""Both storage backends, through the same tests: a local directory, and S3 on a real S3-compatible server."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from linq_server.storage import open_storage
from linq_server.storage.base import IncompleteUpload, ObjectMissing, Storage
from tests.support.s3 import CREDENTIALS, S3Server


@pytest.fixture(params=["local", "s3"])
async def storage(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[tuple[Storage, object]]:
    if request.param == "local":
        store = open_storage(None, tmp_path)
        yield store, tmp_path / "attachments"
    else:
        server: S3Server = request.getfixturevalue("s3_server")
        for name, value in CREDENTIALS.items():
            monkeypatch.setenv(name, value)
        bucket = server.new_bucket()
        store = open_storage(server.url(bucket), tmp_path)
        yield store, (server, bucket)
    await store.close()


async def chunks(*parts: bytes) -> AsyncIterator[bytes]:
    for part in parts:
        yield part


async def read_all(storage: Storage, key: str) -> bytes:
    return b"".join([chunk async for chunk in storage.read(key)])


def stored(where: object) -> list[str]:
    if isinstance(where, Path):
        return sorted(str(path.relative_to(where)) for path in where.rglob("*") if path.is_file())
    server, bucket = where  # type: ignore[misc]
    return sorted(key.removeprefix("attachments/") for key in server.keys(bucket))


async def test_put_read_delete(storage: tuple[Storage, object]) -> None:
    store, where = storage
    await store.put("p/a/1", chunks(b"hello ", b"world"), size=11, content_type="text/plain")
    assert await read_all(store, "p/a/1") == b"hello world"
    assert stored(where) == ["p/a/1"]
    await store.delete("p/a/1")
    assert stored(where) == []
    with pytest.raises(ObjectMissing):
        await read_all(store, "p/a/1")
    await store.delete("p/a/1")  # deleting what is gone is not an error


async def test_a_file_larger_than_one_part_round_trips(storage: tuple[Storage, object]) -> None:
    store, _ = storage
    data = os.urandom(12 * 1024 * 1024 + 7)  # three S3 parts, the last a short one
    pieces = [data[i : i + 65536] for i in range(0, len(data), 65536)]
    await store.put("big", chunks(*pieces), size=len(data), content_type="application/zip")
    assert await read_all(store, "big") == data


@pytest.mark.parametrize("parts", [(b"short",), (b"far too ", b"long for it")])
async def test_a_stream_of_the_wrong_size_stores_nothing(
    storage: tuple[Storage, object], parts: tuple[bytes, ...]
) -> None:
    store, where = storage
    with pytest.raises(IncompleteUpload):
        await store.put("k", chunks(*parts), size=8, content_type="text/plain")
    assert stored(where) == []


async def test_a_big_stream_that_breaks_off_stores_nothing(storage: tuple[Storage, object]) -> None:
    store, where = storage

    async def breaks() -> AsyncIterator[bytes]:
        yield os.urandom(6 * 1024 * 1024)  # past one S3 part: a multipart upload is under way
        raise ConnectionResetError("client went away")

    with pytest.raises(ConnectionResetError):
        await store.put("k", breaks(), size=10 * 1024 * 1024, content_type="application/zip")
    assert stored(where) == []


async def test_keys_that_escape_are_refused(tmp_path: Path) -> None:
    store = open_storage(None, tmp_path)
    with pytest.raises(ValueError):
        await store.delete("../outside")
    with pytest.raises(ValueError):
        await store.put("../outside", chunks(b"x"), size=1, content_type="text/plain")


@pytest.mark.parametrize("url", ["ftp://x", "s3://", "s3:///no-bucket"])
def test_unsupported_urls_are_refused(url: str, tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        open_storage(url, tmp_path)
