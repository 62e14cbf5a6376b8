"""Attachment bytes as files under a directory (the default: ``<data dir>/attachments``)."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import BinaryIO

from linq_server.storage.base import CHUNK_BYTES, IncompleteUpload, ObjectMissing


class LocalStorage:
    def __init__(self, root: Path) -> None:
        self.root = root.resolve()
        self.root.mkdir(parents=True, exist_ok=True)

    def _path(self, key: str) -> Path:
        path = (self.root / key).resolve()
        if not path.is_relative_to(self.root) or path == self.root:
            raise ValueError(f"storage key escapes the storage root: {key!r}")
        return path

    async def put(self, key: str, chunks: AsyncIterator[bytes], *, size: int, content_type: str) -> None:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        # Written beside the target and renamed into place once synced: a reader never sees half a file.
        partial = path.with_name(f"{path.name}.{uuid.uuid4().hex}.partial")
        handle = await asyncio.to_thread(partial.open, "wb")
        try:
            written = await _copy(chunks, handle, size)
            if written != size:
                raise IncompleteUpload(f"expected {size} bytes, received {written}")
            await asyncio.to_thread(_sync_and_close, handle)
            await asyncio.to_thread(os.replace, partial, path)
        except BaseException:
            handle.close()
            partial.unlink(missing_ok=True)
            raise

    async def read(self, key: str) -> AsyncIterator[bytes]:
        try:
            handle = await asyncio.to_thread(self._path(key).open, "rb")
        except FileNotFoundError as error:
            raise ObjectMissing(key) from error
        try:
            while chunk := await asyncio.to_thread(handle.read, CHUNK_BYTES):
                yield chunk
        finally:
            handle.close()

    async def delete(self, key: str) -> None:
        path = self._path(key)
        await asyncio.to_thread(path.unlink, missing_ok=True)

    async def close(self) -> None:
        return None


async def _copy(chunks: AsyncIterator[bytes], handle: BinaryIO, size: int) -> int:
    """Write the stream to ``handle`` in batches of about ``CHUNK_BYTES``; stop early once past ``size``."""
    written = 0
    batch: list[bytes] = []
    batched = 0
    async for chunk in chunks:
        written += len(chunk)
        if written > size:
            return written
        batch.append(chunk)
        batched += len(chunk)
        if batched >= CHUNK_BYTES:
            await asyncio.to_thread(handle.writelines, batch)
            batch, batched = [], 0
    if batch:
        await asyncio.to_thread(handle.writelines, batch)
    return written


def _sync_and_close(handle: BinaryIO) -> None:
    # A 200 from the upload means the bytes survive a power cut, as a 202 means the job does.
    handle.flush()
    os.fsync(handle.fileno())
    handle.close()
