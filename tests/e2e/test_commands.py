"""The commands the README documents: ``migrate``, ``serve --no-worker`` with a separate ``worker``, kept secrets."""

from __future__ import annotations

import multiprocessing
import secrets
import stat
from pathlib import Path
from typing import Any

import httpx
from linq import LinqAPIV3

from linq_server.config import kept_secret
from linq_server.domain.partners import generate_api_key
from tests.support.cli import run_cli
from tests.support.jobs import settled, unfinished_jobs
from tests.support.phones import new_phone
from tests.support.receiver import Receiver
from tests.support.server import ServerProcess


async def test_migrate_creates_the_schema_in_an_empty_database(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'empty.db'}"
    result = await run_cli(url, "migrate")
    assert result.returncode == 0, result.stderr
    assert "database is up to date" in result.stdout
    assert await unfinished_jobs(url) == 0  # the jobs table exists and is empty
    again = await run_cli(url, "migrate")  # idempotent
    assert again.returncode == 0 and "database is up to date" in again.stdout


def test_serve_no_worker_leaves_work_queued_until_a_worker_runs(fresh_database_url: str, tmp_path: Path) -> None:
    receiver = Receiver().start()
    key, lines = generate_api_key(), [new_phone(0)]
    server = ServerProcess(fresh_database_url, tmp_path / "data", key, lines, command=("serve", "--no-worker")).start()
    worker = ServerProcess(fresh_database_url, tmp_path / "data", key, lines, command=("worker",))
    try:
        with LinqAPIV3(api_key=key, base_url=server.base_url, _strict_response_validation=True) as sdk:
            sdk.webhook_subscriptions.create(target_url=receiver.url, subscribed_events=["participant.added"])
            chat_id = sdk.chats.create(
                from_=lines[0], to=[new_phone(1), new_phone(2)], message={"parts": [{"type": "text", "value": "hi"}]}
            ).chat.id
            carol = new_phone(3)
            assert sdk.chats.participants.add(chat_id, handle=carol).status == "accepted"
            # Many requests later the API process still has not touched the job: it runs no worker.
            for _ in range(20):
                assert carol not in [h.handle for h in sdk.chats.retrieve(chat_id).handles]
            assert receiver.received == []
            worker.start()
            settled(fresh_database_url)
            assert carol in [h.handle for h in sdk.chats.retrieve(chat_id).handles if h.status == "active"]
            assert [hit.headers["x-webhook-event"] for hit in receiver.received] == ["participant.added"]
    finally:
        worker.stop()
        server.stop()
        receiver.stop()
    assert "running (" in worker.log() and "running (" not in server.log()


def test_the_generated_keys_are_kept_owner_only_across_restarts(fresh_database_url: str, tmp_path: Path) -> None:
    data = tmp_path / "data"
    server = ServerProcess(fresh_database_url, data, "unused", [new_phone(0)])
    del server.env["LINQ_SERVER_API_KEY"]  # let serve make the sandbox key itself
    server.env.pop("LINQ_SERVER_SECRET_KEY", None)
    receiver = Receiver().start()
    try:
        server.start()
        key = (data / "sandbox-api-key").read_text().strip()
        secret_key = (data / "secret-key").read_text().strip()
        for kept in ("sandbox-api-key", "secret-key"):
            assert stat.S_IMODE((data / kept).stat().st_mode) == 0o600
        assert key.startswith("linq_sk_") and f"LINQ_API_V3_API_KEY={key}" in server.log()
        with LinqAPIV3(api_key=key, base_url=server.base_url, _strict_response_validation=True) as sdk:
            subscription = sdk.webhook_subscriptions.create(
                target_url=receiver.url, subscribed_events=["webhook_subscription.events.updated"]
            )
        server.stop()
        server.start()
        assert (data / "sandbox-api-key").read_text().strip() == key
        assert (data / "secret-key").read_text().strip() == secret_key
        with LinqAPIV3(api_key=key, base_url=server.base_url, _strict_response_validation=True) as sdk:
            # The signing secret stored before the restart still decrypts: the delivery verifies with it.
            sdk.webhook_subscriptions.update(
                subscription.id, subscribed_events=["webhook_subscription.events.updated", "message.sent"]
            )
            settled(fresh_database_url)
        (hit,) = receiver.received
        unwrapped = LinqAPIV3(api_key="x", webhook_secret=subscription.signing_secret, base_url="http://x")
        assert unwrapped.webhooks.unwrap(hit.text, headers=hit.headers).event_type == (
            "webhook_subscription.events.updated"
        )
        wrong = httpx.get(f"{server.base_url}/v3/phone_numbers", headers={"Authorization": "Bearer linq_sk_wrong"})
        assert wrong.status_code == 401
    finally:
        server.stop()
        receiver.stop()


def _take_secret(barrier: Any, path: str, taken: Any) -> None:
    barrier.wait()
    taken.put(kept_secret(Path(path), lambda: secrets.token_hex(32)))


def test_processes_starting_at_once_all_keep_the_same_whole_secret(tmp_path: Path) -> None:
    # serve --workers starts its processes together on a fresh data folder: each must read the one server
    # key (a process that read a half-written file could not open the webhook secrets the others sealed).
    forked = multiprocessing.get_context("fork")
    for attempt in range(60):
        path = tmp_path / str(attempt) / "secret-key"
        barrier, taken = forked.Barrier(6), forked.Queue()
        processes = [forked.Process(target=_take_secret, args=(barrier, str(path), taken)) for _ in range(6)]
        for process in processes:
            process.start()
        secrets_taken = [taken.get(timeout=30) for _ in processes]
        for process in processes:
            process.join()
        assert len(set(secrets_taken)) == 1 and len(secrets_taken[0]) == 64, (attempt, secrets_taken)
        assert path.read_text().strip() == secrets_taken[0]
        assert sorted(p.name for p in path.parent.iterdir()) == ["secret-key"]  # no draft left behind
