"""The inspector's pages and forms under ``/inspector``: thin, as the API's routes are.

Pages read through ``inspector.queries``; forms act through the same domain functions the public API
and the sandbox control API call, so what the inspector does emits exactly the webhooks they emit.
A refused action (a domain rule) redraws the page with the rule's message.
"""

from __future__ import annotations

from collections.abc import Awaitable
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse, StreamingResponse
from fastapi.templating import Jinja2Templates

from linq_server.carrier.base import SERVICE_ORDER
from linq_server.clock import isoformat
from linq_server.domain import (
    devices,
    handle_actions,
    inbound,
    inbound_reactions,
    message_sending,
    partners,
    sandbox,
)
from linq_server.domain import sandbox_deliveries as delivery_domain
from linq_server.domain.errors import LinqError
from linq_server.domain.participants import ParticipantDesk
from linq_server.domain.reaction_rules import TAPBACKS
from linq_server.inspector import live, queries
from linq_server.inspector.auth import (
    NotSignedIn,
    Viewer,
    checked_form,
    end_session,
    read_form,
    services_of,
    start_session,
    viewer,
)
from linq_server.vocabulary import CarrierOperation, ChangeKind

TEMPLATES = Jinja2Templates(directory=Path(__file__).parent / "templates")
TEMPLATES.env.filters["iso"] = isoformat
TEMPLATES.env.filters["clock"] = lambda moment: moment.strftime("%H:%M:%S")
TEMPLATES.env.filters["service_class"] = lambda service: "svc-imessage" if service == "iMessage" else "svc-green"
# Scripts and styles only from here; images may be anywhere (media parts and group icons are URLs).
CONTENT_POLICY = (
    "default-src 'self'; img-src * data:; script-src 'self'; style-src 'self'; "
    "frame-ancestors 'none'; form-action 'self'; base-uri 'none'"
)

router = APIRouter(prefix="/inspector", include_in_schema=False)
Who = Annotated[Viewer, Depends(viewer)]


def render(request: Request, template: str, who: Viewer | None, status: int = 200, **context: Any) -> HTMLResponse:
    settings = services_of(request).settings
    response = TEMPLATES.TemplateResponse(
        request, template, {"who": who, "sandbox": settings.sandbox, "response_status": status, **context},
        status_code=status,
    )  # fmt: skip
    response.headers["content-security-policy"] = CONTENT_POLICY
    response.headers["cache-control"] = "no-store"
    return response


def error_page(request: Request, who: Viewer | None, error: LinqError) -> HTMLResponse:
    return render(request, "error.html", who, status=error.status, message=error.message)


def back_to(path: str) -> RedirectResponse:
    return RedirectResponse(path, status_code=303)


def base_url(request: Request) -> str:
    return (services_of(request).settings.public_url or str(request.base_url)).rstrip("/")


@router.get("")
async def home() -> RedirectResponse:
    return back_to("/inspector/chats")


@router.get("/sign-in")
async def sign_in_form(request: Request) -> HTMLResponse:
    return render(request, "sign_in.html", None)


@router.post("/sign-in")
async def sign_in(request: Request) -> Response:
    form = await read_form(request)
    partner = await partners.partner_for_key(services_of(request).db, form.get("api_key").strip())
    if partner is None:
        return render(request, "sign_in.html", None, status=401, message="That API key is not one of this server's.")
    response = back_to("/inspector/chats")
    start_session(response, request, partner.id)
    return response


@router.post("/sign-out")
async def sign_out(request: Request, who: Who) -> Response:
    await checked_form(request, who)
    response = back_to("/inspector/sign-in")
    end_session(response)
    return response


@router.get("/chats")
async def chat_list(request: Request, who: Who, cursor: str | None = None) -> HTMLResponse:
    try:
        summaries, next_cursor = await queries.chat_list(services_of(request), who.partner.id, cursor)
    except LinqError as error:
        return error_page(request, who, error)
    return render(request, "chats.html", who, section="chats", chats=summaries, next_cursor=next_cursor)


async def _chat(request: Request, who: Viewer, chat_id: str, before: str | None, notice: str | None = None,
                status: int = 200) -> HTMLResponse:  # fmt: skip
    services = services_of(request)
    try:
        page = await queries.chat_page(services, who.partner.id, chat_id, queries.before_of(before))
    except LinqError as error:
        return error_page(request, who, error)
    return render(
        request, "chat.html", who, section="chats", status=status, page=page, notice=notice, before=before,
        reaction_types=sorted(TAPBACKS),
    )  # fmt: skip


@router.get("/chats/{chat_id}")
async def chat(request: Request, who: Who, chat_id: str, before: str | None = None) -> HTMLResponse:
    return await _chat(request, who, chat_id, before)


async def _acted(request: Request, who: Viewer, chat_id: str, action: Awaitable[object]) -> Response:
    """Run one action on a chat; back to the chat, or the chat again with the rule that refused it."""
    try:
        await action
    except LinqError as error:
        return await _chat(request, who, chat_id, None, notice=error.message, status=error.status)
    return back_to(f"/inspector/chats/{quote(chat_id)}")


@router.post("/chats/{chat_id}/send")
async def send_as_line(request: Request, who: Who, chat_id: str) -> Response:
    form = await checked_form(request, who)
    message = {"parts": [{"type": "text", "value": form.get("text")}]}
    services = services_of(request)
    return await _acted(
        request, who, chat_id,
        message_sending.send_to_chat(
            services, who.partner.id, chat_id, message, override_optout=False, trace_id=request.state.trace_id,
            base_url=base_url(request),
        ),
    )  # fmt: skip


@router.post("/chats/{chat_id}/participants")
async def change_member(request: Request, who: Who, chat_id: str) -> Response:
    form = await checked_form(request, who)
    kind = ChangeKind.REMOVE_PARTICIPANT if form.get("action") == "remove" else ChangeKind.ADD_PARTICIPANT
    desk: ParticipantDesk = request.app.state.participant_desk
    return await _acted(
        request, who, chat_id, desk.submit(kind, who.partner.id, chat_id, form.get("handle"), request.state.trace_id)
    )


@router.post("/chats/{chat_id}/as-handle")
async def act_as_handle(request: Request, who: Who, chat_id: str) -> Response:
    """The far side, in the sandbox only: a member sends, reacts, types, reads or leaves, on their own phone."""
    form = await checked_form(request, who)
    services = services_of(request)
    if not services.settings.sandbox:
        return render(request, "error.html", who, status=404, message="The sandbox is off on this server.")
    handle, action, trace_id = form.get("handle"), form.get("action"), request.state.trace_id
    try:
        if action == "send":
            parts = [{"type": "text", "value": form.get("text")}]
            await inbound.send_as(
                services, who.partner.id, handle, to=None, chat_id=chat_id, parts=parts, reply_to=None
            )
        elif action == "react":
            body = {"operation": "add", "type": form.get("type")}
            await inbound_reactions.react_as(services, who.partner.id, handle, form.get("message_id"), body, trace_id)
        elif action in ("typing", "stop-typing"):
            await handle_actions.typing(services, who.partner.id, handle, chat_id, action == "typing", trace_id)
        elif action == "read":
            await inbound.read_by(services, who.partner.id, chat_id, handle)
        elif action == "leave":
            await handle_actions.leave(services, who.partner.id, handle, chat_id, trace_id)
        else:
            return await _chat(request, who, chat_id, None, notice="Unknown action", status=400)
    except LinqError as error:
        return await _chat(request, who, chat_id, None, notice=error.message, status=error.status)
    return back_to(f"/inspector/chats/{quote(chat_id)}")


@router.get("/webhooks")
async def webhooks(request: Request, who: Who, cursor: str | None = None) -> HTMLResponse:
    services = services_of(request)
    try:
        logs, next_cursor = await queries.delivery_list(services, who.partner.id, cursor)
    except LinqError as error:
        return error_page(request, who, error)
    subscriptions = await queries.subscriptions(services, who.partner.id)
    return render(
        request,
        "webhooks.html",
        who,
        section="webhooks",
        subscriptions=subscriptions,
        logs=logs,
        next_cursor=next_cursor,
    )


@router.get("/deliveries/{delivery_id}")
async def delivery(request: Request, who: Who, delivery_id: str, notice: str | None = None) -> HTMLResponse:
    services = services_of(request)
    try:
        shown = await queries.delivery(services, services.secrets, who.partner.id, delivery_id)
    except LinqError as error:
        return error_page(request, who, error)
    return render(request, "delivery.html", who, section="webhooks", shown=shown, notice=notice)


@router.post("/deliveries/{delivery_id}/resend")
async def resend(request: Request, who: Who, delivery_id: str) -> Response:
    await checked_form(request, who)
    services = services_of(request)
    if not services.settings.sandbox:
        return render(request, "error.html", who, status=404, message="The sandbox is off on this server.")
    try:
        copy = await delivery_domain.resend(services, who.partner.id, delivery_id)
    except LinqError as error:
        return error_page(request, who, error)
    return back_to(f"/inspector/deliveries/{quote(copy.delivery.id)}")


@router.get("/handles")
async def handles(request: Request, who: Who) -> HTMLResponse:
    found = await queries.handles(services_of(request), who.partner.id)
    return render(
        request,
        "handles.html",
        who,
        section="handles",
        handles=found,
        services=SERVICE_ORDER,
        operations=list(CarrierOperation),
    )


def _millis(raw: str) -> int | None:
    return int(raw) if raw.strip().isdigit() else None


@router.post("/handles")
async def edit_handle(request: Request, who: Who) -> Response:
    """Set a handle's services, failing operations and device behaviour, as ``PUT /sandbox/handles/{handle}``."""
    form = await checked_form(request, who)
    services = services_of(request)
    if not services.settings.sandbox:
        return render(request, "error.html", who, status=404, message="The sandbox is off on this server.")
    try:
        handle, _services, _failing = await sandbox.set_handle(
            services, who.partner.id, form.get("handle"), form.all("services"), form.all("failing")
        )
        kept = (await devices.devices_of(services, who.partner.id, [handle]))[handle].replies  # not on this form
        await devices.set_device(
            services, who.partner.id, handle, delivery_ms=_millis(form.get("delivery_ms")),
            auto_read_ms=_millis(form.get("auto_read_ms")), offline=form.get("offline") == "on",
            replies=[{"match": r.match, "reply": r.reply, "after_ms": r.after_ms} for r in kept],
        )  # fmt: skip
    except LinqError as error:
        return error_page(request, who, error)
    return back_to("/inspector/handles")


@router.get("/events")
async def events(request: Request, since: str = "") -> Response:
    try:
        who = await viewer(request)
    except NotSignedIn:
        return Response(status_code=401)
    stream = live.changes(services_of(request), request, who.partner.id, since)
    return StreamingResponse(
        stream, media_type="text/event-stream", headers={"cache-control": "no-store", "x-accel-buffering": "no"}
    )
