from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from linq_server.app import create_app
from linq_server.clock import ManualClock
from linq_server.config import Settings
from linq_server.jobs.worker import Worker
from linq_server.services import Services
from tests.conftest import PartnerAccount, make_partner
from tests.support.receiver import Receiver


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    running = Receiver().start()
    yield running
    running.stop()


@dataclass
class World:
    """The real app and a real worker in this process, on a clock the test moves."""

    app: FastAPI
    services: Services
    clock: ManualClock
    worker: Worker
    http: httpx.AsyncClient
    partner: PartnerAccount

    async def subscribe(self, url: str, events: list[str], **extra: object) -> dict[str, object]:
        response = await self.http.post(
            "/v3/webhook-subscriptions", json={"target_url": url, "subscribed_events": events, **extra}
        )
        assert response.status_code == 201, response.text
        body: dict[str, object] = response.json()
        return body


@pytest.fixture
async def world(fresh_database_url: str, tmp_path: Path) -> AsyncIterator[World]:
    clock = ManualClock()
    app = create_app(Settings(database_url=fresh_database_url, data_dir=tmp_path / "data"), clock=clock)
    services: Services = app.state.services
    async with app.router.lifespan_context(app):
        partner = await make_partner(services.db)
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app),
            base_url="http://testserver/api/partner",
            headers={"Authorization": f"Bearer {partner.api_key}"},
        ) as http:
            yield World(app, services, clock, services.worker(), http, partner)
