"""The cross-cutting send gates of api-core §18, checked before anything is queued.

In order: an ineligible (flagged) line 403/2027, a blocked recipient 403/2026, the sandbox rule that a
recipient must have messaged the partner first 403/2008, an opted-out recipient 403/2024. Blocks and
opt-outs hold only for direct chats (a group with an unblocked member may be sent to); the sandbox rule
holds for every recipient, in groups too.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncConnection

from linq_server.domain.errors import LineIneligible, RecipientBlocked, RecipientNotAllowed
from linq_server.domain.opt_out import check_not_opted_out
from linq_server.store import blocked_handles as blocked_store
from linq_server.store import messages as message_store
from linq_server.store import opt_outs as opt_out_store
from linq_server.store import partners as partner_store
from linq_server.store.chats import ChatRow
from linq_server.vocabulary import LineStatus


def check_line_eligible(line_status: str) -> None:
    """403/2027 for any new activity on a flagged line (reads still work)."""
    if line_status != LineStatus.ACTIVE:
        raise LineIneligible()


def check_not_blocked(blocked: set[str], recipients: list[str], *, is_group: bool) -> None:
    """403/2026 for a direct send to a blocked handle, or a group send in which every recipient is blocked."""
    if blocked and (not is_group or blocked.issuperset(recipients)):
        raise RecipientBlocked()


def check_recipients_allowed(never_wrote: set[str]) -> None:
    """403/2008 when the sandbox rule is on and a recipient never messaged the partner."""
    if never_wrote:
        raise RecipientNotAllowed(
            f"Recipient not allowed: {', '.join(sorted(never_wrote))} must message you first in the sandbox"
        )


@dataclass(frozen=True, slots=True)
class GateFacts:
    """What the gates read about a partner's recipients: looked up once for a group of sends."""

    blocked: set[str]
    opted_out: set[str]
    must_message_first: bool
    wrote: set[str]


async def gate_facts(conn: AsyncConnection, partner_id: str, handles: list[str]) -> GateFacts:
    """The facts the gates need about ``handles`` (every recipient of the sends to check)."""
    must_message_first = await partner_store.recipients_must_message_first(conn, partner_id)
    return GateFacts(
        blocked=await blocked_store.blocked(conn, partner_id, handles),
        opted_out=await opt_out_store.opted_out(conn, partner_id, handles),
        must_message_first=must_message_first,
        wrote=await message_store.handles_that_messaged(conn, partner_id, handles) if must_message_first else set(),
    )


def check_send_gates(facts: GateFacts, chat: ChatRow, recipients: list[str], *, override_optout: bool) -> None:
    """Every §18 gate for one outbound message from ``chat``'s line to ``recipients``."""
    check_line_eligible(chat.line_status)
    check_not_blocked(facts.blocked.intersection(recipients), recipients, is_group=chat.is_group)
    if facts.must_message_first:
        check_recipients_allowed(set(recipients) - facts.wrote)
    opted_out = bool(facts.opted_out.intersection(recipients))
    check_not_opted_out(opted_out=opted_out, is_group=chat.is_group, override_optout=override_optout)
