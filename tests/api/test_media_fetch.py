"""Reading media named by URL: sizes counted, limits kept, and no internal address contacted outside the sandbox."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from linq_server.config import Settings
from linq_server.media_fetch import Fetched, FetchFailed, FetchRefused, FetchTooLarge, MediaFetcher
from tests.conftest import open_world
from tests.support.media_host import MediaHost
from tests.support.phones import new_phone


@pytest.fixture
def host(tmp_path: Path) -> Iterator[MediaHost]:
    running = MediaHost(tmp_path, tls=False).start()
    yield running
    running.stop()


@pytest.fixture
async def sandbox_fetcher() -> AsyncIterator[MediaFetcher]:
    fetcher = MediaFetcher(allow_internal=True)
    yield fetcher
    await fetcher.close()


@pytest.fixture
async def production_fetcher() -> AsyncIterator[MediaFetcher]:
    fetcher = MediaFetcher(allow_internal=False)
    yield fetcher
    await fetcher.close()


async def test_sizes_are_counted_up_to_the_limit(sandbox_fetcher: MediaFetcher, host: MediaHost) -> None:
    url = host.serve("/a.jpg", b"x" * 1000, "image/jpeg; charset=binary")
    assert await sandbox_fetcher.probe(url, limit=1000) == Fetched(1000, "image/jpeg; charset=binary")
    with pytest.raises(FetchTooLarge):
        await sandbox_fetcher.probe(url, limit=999)
    with pytest.raises(FetchFailed):
        await sandbox_fetcher.probe(host.url("/missing.jpg"), limit=1000)


async def test_redirects_are_followed_a_few_hops(sandbox_fetcher: MediaFetcher, host: MediaHost) -> None:
    host.serve("/final.png", b"png", "image/png")
    host.redirects["/one"] = "/two"
    host.redirects["/two"] = host.url("/final.png")
    assert await sandbox_fetcher.probe(host.url("/one"), limit=10) == Fetched(3, "image/png")
    host.redirects["/loop"] = "/loop"
    with pytest.raises(FetchFailed):
        await sandbox_fetcher.probe(host.url("/loop"), limit=10)
    assert host.requests["/loop"] == 6  # the first request and five redirects, no more


INTERNAL = ["127.0.0.1:{port}", "localhost:{port}", "[::1]:{port}", "10.1.2.3", "169.254.169.254",
            "192.168.0.10:{port}", "0.0.0.0:{port}"]  # fmt: skip


@pytest.mark.parametrize("where", INTERNAL)
async def test_outside_the_sandbox_internal_addresses_are_never_contacted(
    production_fetcher: MediaFetcher, host: MediaHost, where: str
) -> None:
    with pytest.raises(FetchRefused):
        await production_fetcher.probe(f"http://{where.format(port=host.port)}/cat.jpg", limit=10)
    assert host.requests == {}


async def test_a_send_naming_an_internal_url_outside_the_sandbox_is_400(
    fresh_database_url: str, tmp_path: Path, host: MediaHost
) -> None:
    settings = Settings(database_url=fresh_database_url, data_dir=tmp_path / "data", carrier_delay_ms=0, sandbox=False)
    async with open_world(settings) as world:
        line = world.partner.lines[0]
        chat = await world.http.post(
            "/v3/chats",
            json={"from": line, "to": [new_phone(1)], "message": {"parts": [{"type": "text", "value": "hi"}]}},
        )
        chat_id = chat.json()["chat"]["id"]
        for address in (f"127.0.0.1:{host.port}", f"localhost:{host.port}"):
            message = {"parts": [{"type": "media", "url": f"https://{address}/cat.jpg"}]}
            sent = await world.http.post(f"/v3/chats/{chat_id}/messages", json={"message": message})
            assert sent.status_code == 400 and sent.json()["error"]["code"] == 1005, sent.text
            memo = await world.http.post(
                f"/v3/chats/{chat_id}/voicememo", json={"voice_memo_url": f"https://{address}/m.mp3"}
            )
            assert memo.status_code == 400 and memo.json()["error"]["code"] == 1005, memo.text
    assert host.requests == {}
