"""What the server asks of a byte store: put a stream, read it back as a stream, delete it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Protocol

# Bytes moved at a time when reading or writing: small enough that a 100 MB file never sits in memory.
CHUNK_BYTES = 1024 * 1024


class ObjectMissing(Exception):
    """The key names no stored object (never written, or deleted)."""


class IncompleteUpload(Exception):
    """The stream ended before, or ran past, the declared size; nothing was stored."""


class Storage(Protocol):
    async def put(self, key: str, chunks: AsyncIterator[bytes], *, size: int, content_type: str) -> None:
        """Store exactly ``size`` bytes read from ``chunks`` under ``key``, durably, all or nothing.

        Raises ``IncompleteUpload`` (and stores nothing) when the stream does not hold exactly ``size`` bytes.
        """
        ...

    def read(self, key: str) -> AsyncIterator[bytes]:
        """The object's bytes, chunk by chunk; raises ``ObjectMissing`` on the first step when there is none."""
        ...

    async def delete(self, key: str) -> None:
        """Remove the object; deleting a missing key is not an error."""
        ...

    async def close(self) -> None: ...
