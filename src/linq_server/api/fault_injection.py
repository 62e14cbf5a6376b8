"""Applies a partner's sandbox fault rules to its own API calls, before they reach the routes."""

from __future__ import annotations

import asyncio
from typing import cast

from starlette.types import ASGIApp, Receive, Scope, Send

from linq_server.api.deps import KeyCache
from linq_server.api.errors import envelope
from linq_server.domain.errors import LinqError
from linq_server.domain.faults import DEFAULT_MESSAGES, FaultRule
from linq_server.services import Services


def injected_error(rule: FaultRule) -> LinqError:
    """The error a rule answers with: its status and Linq code, as any other error of that kind."""
    assert rule.status is not None and rule.code is not None
    kind = type("InjectedFault", (LinqError,), {"status": rule.status, "code": rule.code})
    return cast(LinqError, kind(rule.message or DEFAULT_MESSAGES.get(rule.code, "Injected fault")))


class FaultInjection:
    """Calls under ``prefix`` by a partner with fault rules may wait (``latency_ms``) and then fail
    (``status``), in Linq's envelope. Calls without a known key pass through (the route answers 401)."""

    def __init__(self, app: ASGIApp, *, services: Services, key_cache: KeyCache, prefix: str) -> None:
        self.app = app
        self.services = services
        self.key_cache = key_cache
        self.prefix = prefix

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        rule = await self._fault(scope) if scope["type"] == "http" else None
        if rule is not None:
            if rule.latency_ms:
                await asyncio.sleep(rule.latency_ms / 1000)  # latency is felt by the caller: real time
            if rule.status is not None:
                trace_id = scope.get("state", {}).get("trace_id")
                response = envelope(injected_error(rule), trace_id, retry_after=rule.retry_after)
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)

    async def _fault(self, scope: Scope) -> FaultRule | None:
        path: str = scope["path"]
        if not path.startswith(self.prefix + "/"):
            return None
        headers = dict(scope["headers"])
        scheme, _, key = headers.get(b"authorization", b"").decode("latin-1").partition(" ")
        if scheme.lower() != "bearer" or not key.strip():
            return None
        partner = await self.key_cache.partner_for(self.services.db, key.strip())
        if partner is None:
            return None
        return await self.services.faults.for_call(partner.id, scope["method"], path)
