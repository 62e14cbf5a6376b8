"""A 100 MB upload and its download stream through the server: its memory grows by less than 20 MB."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator

import httpx
from linq import LinqAPIV3

from tests.support.memory import peak_rss
from tests.support.server import ServerProcess

SIZE = 100 * 1024 * 1024
CHUNK = b"\x5a" * (1024 * 1024)
LIMIT = 20 * 1024 * 1024


def hundred_megabytes() -> Iterator[bytes]:
    for _ in range(SIZE // len(CHUNK)):
        yield CHUNK


def test_a_100_mb_upload_and_download_hold_less_than_20_mb(server: ServerProcess, sdk: LinqAPIV3) -> None:
    assert server.process is not None
    pid = server.process.pid
    # Warm up: the first upload and download load their code paths, which is not what is measured.
    warm = sdk.attachments.create(filename="warm.zip", content_type="application/zip", size_bytes=len(CHUNK))
    httpx.put(warm.upload_url, content=CHUNK, headers=warm.required_headers).raise_for_status()
    httpx.get(warm.download_url).raise_for_status()

    offer = sdk.attachments.create(filename="big.zip", content_type="application/zip", size_bytes=SIZE)
    with peak_rss(pid) as upload:
        response = httpx.put(offer.upload_url, content=hundred_megabytes(), headers=offer.required_headers, timeout=300)
    assert response.status_code == 200, response.text
    assert sdk.attachments.retrieve(offer.attachment_id).status == "complete"

    digest = hashlib.sha256()
    received = 0
    with peak_rss(pid) as download, httpx.stream("GET", offer.download_url, timeout=300) as stream:
        for chunk in stream.iter_bytes():
            digest.update(chunk)
            received += len(chunk)
    assert received == SIZE
    assert digest.hexdigest() == hashlib.sha256(b"".join(hundred_megabytes())).hexdigest()

    mb = 1024 * 1024
    for name, measured in (("upload", upload), ("download", download)):
        print(f"\nserver RSS during the {name}: {measured.before / mb:.1f} MB, peak {measured.peak / mb:.1f} MB")
    assert upload.growth < LIMIT, f"upload grew the server by {upload.growth / mb:.1f} MB"
    assert download.growth < LIMIT, f"download grew the server by {download.growth / mb:.1f} MB"
