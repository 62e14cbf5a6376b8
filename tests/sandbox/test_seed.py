"""Seeding from a YAML file: the CLI twice (idempotent), and LINQ_SERVER_SEED at start (a real server)."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path

import httpx
import yaml
from linq import LinqAPIV3

from linq_server.webhooks.signing import generate_signing_secret
from tests.support.phones import new_phone
from tests.support.server import ServerProcess


def seed_file(folder: Path, line: str, members: list[str], secret: str) -> Path:
    path = folder / "seed.yaml"
    content = {
        "partners": [
            {
                "name": f"seeded-{line}",
                "api_key": f"linq_sk_seeded_{line[1:]}",
                "phone_numbers": [line],
                "handles": {
                    members[0]: {"services": ["SMS"]},
                    members[1]: {"failing_operations": ["add"], "auto_read_ms": 2000,
                                 "replies": [{"match": "(?i)menu", "reply": "Pizza!", "after_ms": 1500}]},
                    members[2]: {"offline": True, "blocked": True},
                },
                "chats": [
                    {"from": line, "to": members[1:], "display_name": "Team", "message": "Welcome"},
                    {"from": line, "to": [members[2]]},
                ],
                "webhook_subscriptions": [
                    {"target_url": "http://127.0.0.1:9/hook", "subscribed_events": ["chat.created"],
                     "signing_secret": secret}
                ],
            }
        ]
    }  # fmt: skip
    path.write_text(yaml.safe_dump(content))
    return path


async def run_seed(database_url: str, data_dir: Path, path: Path) -> tuple[int, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "linq_server", "seed", str(path),
        env={**os.environ, "LINQ_SERVER_DATABASE_URL": database_url, "LINQ_SERVER_DATA_DIR": str(data_dir)},
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    output, _ = await process.communicate()
    return process.returncode or 0, output.decode()


async def test_seeding_twice_creates_things_once(fresh_database_url: str, tmp_path: Path) -> None:
    line, members = new_phone(0), [new_phone(1), new_phone(2), new_phone(3)]
    path = seed_file(tmp_path, line, members, generate_signing_secret())
    code, first = await run_seed(fresh_database_url, tmp_path / "data", path)
    assert code == 0, first
    assert json.loads(first)["created"] == {"chats": 2, "webhook_subscriptions": 1}
    code, second = await run_seed(fresh_database_url, tmp_path / "data", path)
    assert code == 0, second
    assert json.loads(second)["created"] == {"chats": 0, "webhook_subscriptions": 0}

    broken = tmp_path / "broken.yaml"
    broken.write_text("partners: [{name: x}]")
    code, output = await run_seed(fresh_database_url, tmp_path / "data", broken)
    assert code == 1 and "api_key" in output


def test_the_server_seeds_itself_at_start(fresh_database_url: str, tmp_path: Path) -> None:
    line, members = new_phone(0), [new_phone(1), new_phone(2), new_phone(3)]
    secret = generate_signing_secret()
    path = seed_file(tmp_path, line, members, secret)
    server = ServerProcess(
        fresh_database_url, tmp_path / "data", "linq_sk_unused_sandbox_key", [new_phone(0)],
        extra_env={"LINQ_SERVER_SEED": str(path)},
    )  # fmt: skip
    try:
        server.start(timeout=120)  # a cold start on a loaded machine can take a while
        key = f"linq_sk_seeded_{line[1:]}"
        with LinqAPIV3(api_key=key, base_url=server.base_url, _strict_response_validation=True) as sdk:
            listed = sdk.chats.list_chats()
            assert sorted(chat.display_name or "" for chat in listed.chats) == sorted(["Team", members[2]])
            (subscription,) = sdk.webhook_subscriptions.list().subscriptions
            assert subscription.target_url == "http://127.0.0.1:9/hook"
        sandbox = f"http://127.0.0.1:{server.port}/sandbox/handles"
        headers = {"Authorization": f"Bearer {key}"}
        assert httpx.get(f"{sandbox}/{members[0]}", headers=headers).json()["services"] == ["SMS"]
        second = httpx.get(f"{sandbox}/{members[1]}", headers=headers).json()
        assert (second["failing_operations"], second["auto_read_ms"]) == (["add"], 2000)
        assert second["replies"] == [{"match": "(?i)menu", "reply": "Pizza!", "after_ms": 1500}]
        third = httpx.get(f"{sandbox}/{members[2]}", headers=headers).json()
        assert (third["offline"], third["blocked"]) == (True, True)
    finally:
        server.stop()
