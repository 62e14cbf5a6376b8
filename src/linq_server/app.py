"""Wires the application once: settings → database → services → routes."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import fastapi_offline
from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles

from linq_server import __version__
from linq_server.api import (
    attachment_files,
    attachments,
    capability,
    chats,
    contact_cards,
    messages,
    participants,
    phone_numbers,
    reactions,
    relay,
    sandbox,
    sandbox_accounts,
    sandbox_actions,
    sandbox_clock,
    sandbox_deliveries,
    sandbox_faults,
    sandbox_lines,
    sandbox_typing,
    typing,
    voice_memos,
    webhook_logs,
    webhook_subscriptions,
)
from linq_server.api.body_guard import BodyGuardMiddleware
from linq_server.api.deps import KeyCache
from linq_server.api.errors import install_error_handlers
from linq_server.api.fault_injection import FaultInjection
from linq_server.api.json_response import JSONResponse
from linq_server.api.trace import TraceMiddleware
from linq_server.clock import Clock
from linq_server.config import Settings
from linq_server.domain.participants import ParticipantDesk
from linq_server.domain.relay import RelayHub
from linq_server.inspector import web as inspector
from linq_server.jobs.worker import Worker
from linq_server.readiness import unready_reasons
from linq_server.services import build_services
from linq_server.workers import build_worker

log = logging.getLogger("linq_server")

API_PREFIX = "/api/partner"
# The control plane of the sandbox (LINQ_SERVER_SANDBOX=true only): the other side of the chat, time, faults.
SANDBOX_ROUTERS = (
    sandbox,
    sandbox_actions,
    sandbox_accounts,
    sandbox_clock,
    sandbox_deliveries,
    sandbox_faults,
    sandbox_lines,
    sandbox_typing,
)


def create_app(settings: Settings | None = None, *, run_worker: bool = False, clock: Clock | None = None) -> FastAPI:
    """The ASGI app. With ``run_worker`` a job worker runs inside it, started and stopped with the app."""
    services = build_services(settings or Settings(), clock)
    relay_hub = RelayHub(services.db)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        worker = build_worker(services) if run_worker else None
        worker_task = asyncio.create_task(worker.run()) if worker else None
        if worker and worker_task:
            app.state.worker_task = worker_task
            worker_task.add_done_callback(lambda task: _end_without_worker(app, worker, task))
        await relay_hub.start()
        try:
            yield
        finally:
            await relay_hub.stop()
            if worker and worker_task:
                worker.stop()
                with contextlib.suppress(Exception):
                    await worker_task  # its failure was told when it ended
            await services.close()

    app = FastAPI(
        title="linq-server",
        version=__version__,
        summary="Linq Partner API v3, self-hosted",
        docs_url=None,
        redoc_url=None,
        lifespan=lifespan,
        default_response_class=JSONResponse,
        telemetry=None if services.settings.telemetry else {"tracing": False, "metrics": False, "logs": False},
    )
    app.state.services = services
    app.state.key_cache = KeyCache()
    app.state.participant_desk = ParticipantDesk(services)
    app.state.relay_hub = relay_hub
    install_error_handlers(app)
    for module in (phone_numbers, chats, participants, messages, reactions, webhook_subscriptions):
        app.include_router(module.router, prefix=API_PREFIX)
    for module in (attachments, typing, contact_cards, capability, voice_memos):
        app.include_router(module.router, prefix=API_PREFIX)
    if services.settings.sandbox:
        for module in SANDBOX_ROUTERS:
            app.include_router(module.router)
    for module in (relay, webhook_logs, attachment_files):
        app.include_router(module.router)
    # Always served: it shows a partner only their own data. Its far-side forms need the sandbox.
    inspector.install(app)

    @app.get("/healthz", include_in_schema=False)
    async def healthz() -> JSONResponse:
        """Liveness: the process answers. (A process whose job worker ended has ended too.)"""
        return JSONResponse({"status": "ok"})

    @app.get("/readyz", include_in_schema=False)
    async def readyz() -> JSONResponse:
        """Readiness: the database answers and a job worker has checked in lately, so a 202 will be carried out."""
        reasons = await unready_reasons(services.db, getattr(app.state, "worker_task", None))
        if reasons:
            return JSONResponse({"status": "unavailable", "reasons": reasons}, status_code=503)
        return JSONResponse({"status": "ready"})

    # Interactive docs from the assets fastapi-offline ships (Swagger UI 5, which reads OpenAPI 3.1): no CDN.
    app.mount(
        "/docs-assets", StaticFiles(directory=Path(fastapi_offline.__file__).parent / "static"), name="docs-assets"
    )

    @app.get("/docs", include_in_schema=False)
    async def docs() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url="/openapi.json",
            title="linq-server API",
            swagger_js_url="/docs-assets/swagger-ui-bundle.js",
            swagger_css_url="/docs-assets/swagger-ui.css",
            swagger_favicon_url="/docs-assets/favicon.png",
        )

    @app.get("/", include_in_schema=False)
    async def home() -> RedirectResponse:
        """A person who opens the server's address lands on the inspector (which asks for a key first)."""
        return RedirectResponse("/inspector")

    if services.settings.sandbox:
        app.add_middleware(FaultInjection, services=services, key_cache=app.state.key_cache, prefix=API_PREFIX)
    # Outermost last: the trace middleware wraps the guard, so even a refused body gets its trace id.
    app.add_middleware(BodyGuardMiddleware)
    app.add_middleware(TraceMiddleware)
    return app


def _end_without_worker(app: FastAPI, worker: Worker, task: asyncio.Task[None]) -> None:
    """A process that serves 202s must not live on without the worker that carries them out: end it, so that
    the supervisor (``serve --workers``) or an orchestrator replaces it."""
    if worker.stopping:
        return
    error = None if task.cancelled() else task.exception()
    log.critical("the job worker ended (%r); this process stops so that it is replaced", error)
    app.state.worker_failed = True
    signal.raise_signal(signal.SIGTERM)
