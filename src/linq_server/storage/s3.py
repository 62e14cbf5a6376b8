"""Attachment bytes in an S3-compatible bucket (AWS S3, MinIO, Ceph, R2 ...), for several machines.

Configured by URL: ``s3://BUCKET[/PREFIX]?endpoint=http://host:port&region=REGION``. Credentials come
from boto3's usual chain (``AWS_ACCESS_KEY_ID`` / ``AWS_SECRET_ACCESS_KEY``, a profile, an instance role).
boto3 is synchronous, so each call runs in a worker thread; uploads go up in parts of ``PART_BYTES``, so a
100 MB file never sits in memory.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

from linq_server.storage.base import CHUNK_BYTES, IncompleteUpload, ObjectMissing

# S3's smallest allowed part (all but the last): the least memory an upload can hold.
PART_BYTES = 5 * 1024 * 1024


class S3Storage:
    def __init__(self, url: str) -> None:
        parts = urlsplit(url)
        if parts.scheme != "s3" or not parts.netloc:
            raise ValueError(f"an S3 storage URL looks like s3://bucket/prefix?endpoint=...: {url!r}")
        query = {name: values[-1] for name, values in parse_qs(parts.query).items()}
        self.bucket = parts.netloc
        self.prefix = parts.path.strip("/")
        self._client: Any = boto3.client(
            "s3",
            endpoint_url=query.get("endpoint"),
            region_name=query.get("region", "us-east-1"),
            config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 3, "mode": "standard"}),
        )

    def _key(self, key: str) -> str:
        return f"{self.prefix}/{key}" if self.prefix else key

    async def put(self, key: str, chunks: AsyncIterator[bytes], *, size: int, content_type: str) -> None:
        name = self._key(key)
        buffer = bytearray()
        received = 0
        upload_id: str | None = None
        uploaded: list[dict[str, Any]] = []
        try:
            async for chunk in chunks:
                received += len(chunk)
                if received > size:
                    raise IncompleteUpload(f"expected {size} bytes, received more")
                buffer += chunk
                if len(buffer) >= PART_BYTES:
                    if upload_id is None:
                        upload_id = await self._start(name, content_type)
                    uploaded.append(await self._part(name, upload_id, len(uploaded) + 1, bytes(buffer)))
                    buffer.clear()
            if received != size:
                raise IncompleteUpload(f"expected {size} bytes, received {received}")
            if upload_id is None:
                await asyncio.to_thread(
                    self._client.put_object, Bucket=self.bucket, Key=name, Body=bytes(buffer), ContentType=content_type
                )
                return
            if buffer:
                uploaded.append(await self._part(name, upload_id, len(uploaded) + 1, bytes(buffer)))
            await asyncio.to_thread(
                self._client.complete_multipart_upload,
                Bucket=self.bucket, Key=name, UploadId=upload_id, MultipartUpload={"Parts": uploaded},
            )  # fmt: skip
        except BaseException:
            if upload_id is not None:
                await asyncio.to_thread(
                    self._client.abort_multipart_upload, Bucket=self.bucket, Key=name, UploadId=upload_id
                )
            raise

    async def _start(self, name: str, content_type: str) -> str:
        started = await asyncio.to_thread(
            self._client.create_multipart_upload, Bucket=self.bucket, Key=name, ContentType=content_type
        )
        upload_id: str = started["UploadId"]
        return upload_id

    async def _part(self, name: str, upload_id: str, number: int, body: bytes) -> dict[str, Any]:
        done = await asyncio.to_thread(
            self._client.upload_part, Bucket=self.bucket, Key=name, UploadId=upload_id, PartNumber=number, Body=body
        )
        return {"PartNumber": number, "ETag": done["ETag"]}

    async def read(self, key: str) -> AsyncIterator[bytes]:
        try:
            found = await asyncio.to_thread(self._client.get_object, Bucket=self.bucket, Key=self._key(key))
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
                raise ObjectMissing(key) from error
            raise
        body = found["Body"]
        try:
            while chunk := await asyncio.to_thread(body.read, CHUNK_BYTES):
                yield chunk
        finally:
            body.close()

    async def delete(self, key: str) -> None:
        await asyncio.to_thread(self._client.delete_object, Bucket=self.bucket, Key=self._key(key))

    async def close(self) -> None:
        self._client.close()
