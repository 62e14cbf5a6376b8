"""Who is looking: the signed-in partner of an inspector request, and the checks every form post passes."""

from __future__ import annotations

import time
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlsplit

from fastapi import Request, Response

from linq_server.inspector import queries
from linq_server.inspector.sessions import COOKIE, SESSION_SECONDS, Session, SessionSigner
from linq_server.services import Services
from linq_server.store import partners as partner_store
from linq_server.store.partners import Partner

# Forms are a few short fields; anything longer is not ours.
MAX_FORM_BYTES = 64 * 1024


class NotSignedIn(Exception):
    """No valid session: pages send the browser to the sign-in form."""


class FormRefused(Exception):
    """A post without this session's CSRF token, or from another origin."""


@dataclass(frozen=True, slots=True)
class Viewer:
    partner: Partner
    session: Session
    # The partner's activity mark before the page read anything: its live stream starts from here, so
    # a change made while the page was being drawn still reaches it.
    mark: str


@dataclass(frozen=True, slots=True)
class Form:
    fields: list[tuple[str, str]]

    def get(self, name: str, default: str = "") -> str:
        return next((value for key, value in self.fields if key == name), default)

    def all(self, name: str) -> list[str]:
        return [value for key, value in self.fields if key == name]


def services_of(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


async def viewer(request: Request) -> Viewer:
    """The signed-in partner; raises NotSignedIn without a valid session cookie."""
    services = services_of(request)
    session = services.sessions.open(request.cookies.get(COOKIE), time.time())
    if session is None:
        raise NotSignedIn()
    async with services.db.read() as conn:
        partner = await partner_store.partner_by_id(conn, session.partner_id)
    if partner is None:
        raise NotSignedIn()
    mark = await queries.activity(services, partner.id)
    return Viewer(partner, session, queries.mark_text(mark))


def same_origin(request: Request) -> bool:
    """Browsers send Origin on every POST; one naming another site is refused (SameSite cookies aside)."""
    origin = request.headers.get("origin")
    if origin is None or origin == "null":
        return origin is None
    return urlsplit(origin).netloc == request.headers.get("host", "")


async def read_form(request: Request) -> Form:
    body = await request.body()
    if len(body) > MAX_FORM_BYTES or not same_origin(request):
        raise FormRefused()
    try:
        return Form(parse_qsl(body.decode(), keep_blank_values=True, strict_parsing=False))
    except UnicodeDecodeError as error:
        raise FormRefused() from error


async def checked_form(request: Request, who: Viewer) -> Form:
    """The posted form, once its CSRF token is this session's."""
    form = await read_form(request)
    if not SessionSigner.csrf_matches(who.session, form.get("csrf_token") or None):
        raise FormRefused()
    return form


def start_session(response: Response, request: Request, partner_id: str) -> None:
    cookie = services_of(request).sessions.issue(partner_id, time.time())
    response.set_cookie(
        COOKIE, cookie, max_age=SESSION_SECONDS, path="/inspector", httponly=True, samesite="strict",
        secure=request.url.scheme == "https",
    )  # fmt: skip


def end_session(response: Response) -> None:
    response.delete_cookie(COOKIE, path="/inspector", httponly=True, samesite="strict")
