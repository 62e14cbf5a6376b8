"""The relay of ``linq webhooks listen`` and the logs service, end to end: real server processes, real sockets."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import aiohttp
import httpx
import pytest

from linq_server.domain.partners import generate_api_key
from linq_server.store.database import Database
from tests.conftest import PartnerAccount, make_partner
from tests.support.databases import POSTGRES_URL
from tests.support.phones import new_phone
from tests.support.receiver import Receiver
from tests.support.server import ServerProcess


def start_server(database_url: str, data_dir: Path, api_key: str, line: str, **env: str) -> ServerProcess:
    return ServerProcess(database_url, data_dir, api_key, [line], extra_env=env).start()


@pytest.fixture
def server(fresh_database_url: str, tmp_path: Path) -> Iterator[ServerProcess]:
    process = start_server(fresh_database_url, tmp_path / "data", generate_api_key(), new_phone(0))
    yield process
    process.stop()


@pytest.fixture
async def stranger(fresh_database_url: str, server: ServerProcess) -> AsyncIterator[PartnerAccount]:
    """Another partner of the same server."""
    db = Database(fresh_database_url)
    try:
        yield await make_partner(db, lines=1)
    finally:
        await db.close()


HELLO = {"type": "text", "value": "hi"}
ApiFor = Callable[["ServerProcess", str, str], "Api"]


class Api:
    """A partner's view of a server: its API, its logs, and relay sockets."""

    def __init__(self, server: ServerProcess, api_key: str, line: str) -> None:
        self.server, self.api_key, self.line = server, api_key, line
        self.http = httpx.AsyncClient(
            base_url=f"http://127.0.0.1:{server.port}", headers={"Authorization": f"Bearer {api_key}"}, timeout=10
        )

    async def subscribe(self, target_url: str, events: list[str]) -> str:
        answer = await self.http.post(
            "/api/partner/v3/webhook-subscriptions", json={"target_url": target_url, "subscribed_events": events}
        )
        assert answer.status_code == 201, answer.text
        subscription_id: str = answer.json()["id"]
        return subscription_id

    async def group(self) -> str:
        answer = await self.http.post(
            "/api/partner/v3/chats",
            json={"from": self.line, "to": [new_phone(1), new_phone(2)], "message": {"parts": [HELLO]}},
        )
        assert answer.status_code == 201, answer.text
        chat_id: str = answer.json()["chat"]["id"]
        return chat_id

    async def logs(self, **query: str) -> list[dict[str, Any]]:
        answer = await self.http.get("/api/v1/webhook-logs", params=query)
        assert answer.status_code == 200, answer.text
        entries: list[dict[str, Any]] = answer.json()["webhook_logs"]
        return entries

    async def logs_until(self, wanted: Any, **query: str) -> list[dict[str, Any]]:
        deadline = time.monotonic() + 20
        while True:
            entries = await self.logs(**query)
            if wanted(entries):
                return entries
            assert time.monotonic() < deadline, f"logs never got there: {entries}"
            await asyncio.sleep(0.05)


@pytest.fixture
async def api_for() -> AsyncIterator[ApiFor]:
    """Makes ``Api``s, and closes them after the test."""
    made: list[Api] = []

    def make(server: ServerProcess, api_key: str, line: str) -> Api:
        made.append(Api(server, api_key, line))
        return made[-1]

    yield make
    for api in made:
        await api.http.aclose()


def relay_socket_url(server: ServerProcess, token: str) -> str:
    return f"ws://127.0.0.1:{server.port}/relay-ws?token={token}"


async def open_relay(session: aiohttp.ClientSession, server: ServerProcess, token: str) -> tuple[Any, str]:
    socket = await session.ws_connect(relay_socket_url(server, token))
    await socket.send_str(json.dumps({"action": "init"}))
    reply = await socket.receive_json(timeout=10)
    return socket, reply["connectionId"]


async def next_event(socket: Any) -> dict[str, Any]:
    frame = await socket.receive(timeout=20)
    assert frame.type == aiohttp.WSMsgType.TEXT, frame
    event: dict[str, Any] = json.loads(frame.data)
    return event


async def test_a_bad_key_closes_the_socket_with_4001(server: ServerProcess) -> None:
    async with aiohttp.ClientSession() as session:
        for token in ("", "linq_sk_not_a_key"):
            async with session.ws_connect(relay_socket_url(server, token)) as socket:
                frame = await socket.receive(timeout=10)
                assert frame.type == aiohttp.WSMsgType.CLOSE
                assert socket.close_code == 4001


async def test_deliveries_reach_the_socket_as_the_exact_webhook_body(server: ServerProcess, api_for: ApiFor) -> None:
    api = api_for(server, server.api_key, server.phone_numbers[0])
    async with aiohttp.ClientSession() as session:
        socket, connection_id = await open_relay(session, server, server.api_key)
        subscription_id = await api.subscribe(f"http://127.0.0.1:{server.port}/relay/{connection_id}", ["chat.created"])
        chat_id = await api.group()
        event = await next_event(socket)
        assert (event["event_type"], event["data"]["id"]) == ("chat.created", chat_id)
        (entry,) = await api.logs_until(lambda logs: len(logs) == 1, subscription_id=subscription_id)
        assert (entry["status"], entry["http_status_code"], entry["event_id"]) == ("success", 204, event["event_id"])
        await socket.close()


async def test_another_partners_connection_gets_nothing_and_the_delivery_fails(
    server: ServerProcess, stranger: PartnerAccount, api_for: ApiFor
) -> None:
    owner = api_for(server, server.api_key, server.phone_numbers[0])
    other = api_for(server, stranger.api_key, stranger.lines[0])
    async with aiohttp.ClientSession() as session:
        socket, connection_id = await open_relay(session, server, server.api_key)
        relay_url = f"http://127.0.0.1:{server.port}/relay/{connection_id}"
        foreign = await other.subscribe(relay_url, ["chat.created"])
        await other.group()
        (attempt,) = await other.logs_until(lambda logs: len(logs) == 1, subscription_id=foreign)
        assert (attempt["status"], attempt["http_status_code"]) == ("retrying", 503)
        assert attempt["error_type"] == "http_error" and "No live relay connection" in attempt["error_message"]

        # The owner's own event is the first frame its socket gets: the stranger's was never pushed.
        own = await owner.subscribe(relay_url, ["chat.created"])
        chat_id = await owner.group()
        assert (await next_event(socket))["data"]["id"] == chat_id

        # Logs are the bearer's own: the stranger sees none of the owner's attempts, even by subscription id.
        assert await other.logs(subscription_id=own) == []
        assert {entry["subscription_id"] for entry in await other.logs()} == {foreign}
        await owner.logs_until(lambda logs: len(logs) == 1, subscription_id=own)
        assert {entry["subscription_id"] for entry in await owner.logs()} == {own}
        await socket.close()


async def test_a_closed_connection_fails_like_an_unreachable_receiver(server: ServerProcess, api_for: ApiFor) -> None:
    api = api_for(server, server.api_key, server.phone_numbers[0])
    async with aiohttp.ClientSession() as session:
        socket, connection_id = await open_relay(session, server, server.api_key)
        await socket.close()
    subscription_id = await api.subscribe(f"http://127.0.0.1:{server.port}/relay/{connection_id}", ["chat.created"])
    await api.group()
    (attempt,) = await api.logs_until(lambda logs: len(logs) == 1, subscription_id=subscription_id)
    assert (attempt["status"], attempt["http_status_code"], attempt["attempt"]) == ("retrying", 503, 1)
    assert await api.logs(subscription_id=subscription_id, status="failed") == []


async def test_forged_posts_to_the_relay_are_refused(server: ServerProcess) -> None:
    async with aiohttp.ClientSession() as session:
        socket, connection_id = await open_relay(session, server, server.api_key)
        answer = await session.post(
            f"http://127.0.0.1:{server.port}/relay/{connection_id}",
            data=b'{"event_type":"chat.created"}',
            headers={"webhook-id": "x", "webhook-timestamp": "1", "webhook-signature": "v1,AAAA"},
        )
        assert answer.status == 401
        assert (await answer.json())["error"]["code"] == 2004
        await socket.close()


async def test_production_mode_allows_its_own_relay_and_no_other_loopback_target(
    fresh_database_url: str, tmp_path: Path, api_for: ApiFor
) -> None:
    key = generate_api_key()
    server = start_server(fresh_database_url, tmp_path / "data", key, new_phone(0), LINQ_SERVER_SANDBOX="false")
    receiver = Receiver().start()
    try:
        api = api_for(server, key, server.phone_numbers[0])
        wanted = {"target_url": receiver.url, "subscribed_events": ["chat.created"]}
        refused = await api.http.post("/api/partner/v3/webhook-subscriptions", json=wanted)
        assert (refused.status_code, refused.json()["error"]["code"]) == (400, 1005)
        async with aiohttp.ClientSession() as session:
            socket, connection_id = await open_relay(session, server, key)
            await api.subscribe(f"http://127.0.0.1:{server.port}/relay/{connection_id}", ["chat.created"])
            chat_id = await api.group()
            assert (await next_event(socket))["data"]["id"] == chat_id
            await socket.close()
    finally:
        server.stop()
        receiver.stop()


@pytest.mark.skipif(not POSTGRES_URL, reason="several API processes share a database only on PostgreSQL")
async def test_a_delivery_reaches_a_socket_held_by_another_api_process(
    fresh_database_url: str, tmp_path: Path, api_for: ApiFor
) -> None:
    key, line = generate_api_key(), new_phone(0)
    # The same data folder: both processes share the server key that seals signing secrets.
    first = start_server(fresh_database_url, tmp_path / "data", key, line)
    second = start_server(fresh_database_url, tmp_path / "data", key, line)
    try:
        api = api_for(first, key, line)
        async with aiohttp.ClientSession() as session:
            socket, connection_id = await open_relay(session, second, key)
            # Deliveries go to the first process, whose worker and relay do not hold the socket.
            await api.subscribe(f"http://127.0.0.1:{first.port}/relay/{connection_id}", ["chat.created"])
            chat_id = await api.group()
            assert (await next_event(socket))["data"]["id"] == chat_id
            await socket.close()
    finally:
        first.stop()
        second.stop()
