from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from linq_server.app import create_app
from linq_server.clock import ManualClock
from linq_server.config import Settings
from linq_server.domain import partners
from linq_server.jobs.worker import Worker
from linq_server.services import Services
from linq_server.store.database import Database
from linq_server.workers import build_worker
from tests.support.databases import DatabaseFactory
from tests.support.phones import new_phone
from tests.support.receiver import Receiver
from tests.support.s3 import S3Server


@pytest.fixture(scope="session")
def databases(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DatabaseFactory]:
    factory = DatabaseFactory(tmp_path_factory.mktemp("databases"))
    yield factory
    factory.drop_all()


@pytest.fixture(scope="session")
def database_url(databases: DatabaseFactory) -> str:
    """One migrated database shared by the tests of a run; tests isolate themselves by partner."""
    return databases.new()


@pytest.fixture
def fresh_database_url(databases: DatabaseFactory) -> Iterator[str]:
    """A migrated database of this test's own, for tests that look at global state (the job queue)."""
    url = databases.new()
    yield url
    databases.release(url)


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return Settings(database_url=database_url, data_dir=tmp_path / "data")


@pytest.fixture
async def db(settings: Settings) -> AsyncIterator[Database]:
    database = Database(settings.database_url)
    yield database
    await database.close()


@pytest.fixture
async def app(settings: Settings) -> AsyncIterator[FastAPI]:
    application = create_app(settings)
    async with application.router.lifespan_context(application):
        yield application


@dataclass
class PartnerAccount:
    id: str
    api_key: str
    lines: list[str]


async def make_partner(db: Database, lines: int = 2) -> PartnerAccount:
    created = await partners.create_partner(db, f"partner-{uuid.uuid4().hex[:8]}", [new_phone(0) for _ in range(lines)])
    return PartnerAccount(created.partner.id, created.api_key, [line.phone_number for line in created.lines])


@pytest.fixture
async def partner(db: Database) -> PartnerAccount:
    return await make_partner(db)


@pytest.fixture
async def client(app: FastAPI, partner: PartnerAccount) -> AsyncIterator[httpx.AsyncClient]:
    """An in-process client authenticated as ``partner``."""
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(
        transport=transport,
        base_url="http://testserver/api/partner",
        headers={"Authorization": f"Bearer {partner.api_key}"},
    ) as http:
        yield http


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3Server]:
    """A real S3-compatible server (moto) in its own process, started once when a test asks for it."""
    server = S3Server(tmp_path_factory.mktemp("s3")).start()
    yield server
    server.stop()


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


@asynccontextmanager
async def open_world(settings: Settings) -> AsyncIterator[World]:
    """The real app with ``settings``, a partner, and a worker on a fresh manual clock.

    The network takes ``settings.carrier_delay_ms``: move the clock past it before the worker finds a
    group change due (tests that do not care pass 0)."""
    clock = ManualClock()
    app = create_app(settings, clock=clock)
    services: Services = app.state.services
    async with app.router.lifespan_context(app):
        partner = await make_partner(services.db)
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app),
            base_url="http://testserver/api/partner",
            headers={"Authorization": f"Bearer {partner.api_key}"},
        ) as http:
            yield World(app, services, clock, build_worker(services), http, partner)


@pytest.fixture
async def world(fresh_database_url: str, tmp_path: Path) -> AsyncIterator[World]:
    settings = Settings(database_url=fresh_database_url, data_dir=tmp_path / "data", carrier_delay_ms=0)
    async with open_world(settings) as opened:
        yield opened
