"""What routes depend on: the wired services and the authenticated partner."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Annotated

from fastapi import Depends, Request

from linq_server.domain import partners
from linq_server.domain.errors import Unauthorized
from linq_server.domain.participants import ParticipantDesk
from linq_server.services import Services
from linq_server.store.database import Database
from linq_server.store.partners import Partner

# How long a verified key is trusted without asking the database again. Keys are only ever added
# (by the CLI), so a short cache costs nothing in correctness and saves a query per request.
KEY_CACHE_SECONDS = 30.0


@dataclass
class KeyCache:
    entries: dict[str, tuple[Partner, float]] = field(default_factory=dict)

    async def partner_for(self, db: Database, key: str) -> Partner | None:
        cached = self.entries.get(key)
        if cached and cached[1] > time.monotonic():
            return cached[0]
        partner = await partners.partner_for_key(db, key)
        if partner is not None:
            self.entries[key] = (partner, time.monotonic() + KEY_CACHE_SECONDS)
        return partner


async def services(request: Request) -> Services:
    result: Services = request.app.state.services
    return result


async def trace_id(request: Request) -> str:
    value: str = request.state.trace_id
    return value


async def authenticated_partner(request: Request) -> Partner:
    """The partner whose bearer key came with the request; 401/2004 otherwise."""
    scheme, _, key = request.headers.get("authorization", "").partition(" ")
    key = key.strip()
    if scheme.lower() != "bearer" or not key:
        raise Unauthorized()
    cache: KeyCache = request.app.state.key_cache
    partner = await cache.partner_for((await services(request)).db, key)
    if partner is None:
        raise Unauthorized()
    return partner


async def optional_partner(request: Request) -> Partner | None:
    """The partner whose key came with the request, or None (no key or a wrong one): for routes open to links."""
    try:
        return await authenticated_partner(request)
    except Unauthorized:
        return None


async def public_base_url(request: Request) -> str:
    """Where links to this server start: ``LINQ_SERVER_PUBLIC_URL``, else the address the request came to."""
    configured = (await services(request)).settings.public_url
    return (configured or str(request.base_url)).rstrip("/")


async def participant_desk(request: Request) -> ParticipantDesk:
    desk: ParticipantDesk = request.app.state.participant_desk
    return desk


CurrentPartner = Annotated[Partner, Depends(authenticated_partner)]
App = Annotated[Services, Depends(services)]
TraceId = Annotated[str, Depends(trace_id)]
Desk = Annotated[ParticipantDesk, Depends(participant_desk)]
MaybePartner = Annotated[Partner | None, Depends(optional_partner)]
BaseUrl = Annotated[str, Depends(public_base_url)]
