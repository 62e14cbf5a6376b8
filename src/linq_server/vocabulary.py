"""The words every layer shares: one ``StrEnum`` per concept, its values exactly the strings stored.

Domain, store, carrier and jobs import these instead of spelling the strings; a ``StrEnum`` member
*is* its string, so rows read back as plain strings still compare equal to the members.
"""

from __future__ import annotations

from enum import StrEnum


class ChangeKind(StrEnum):
    """A change to a group chat, queued by a request and carried out by the network (``chat_changes.kind``)."""

    ADD_PARTICIPANT = "add_participant"
    REMOVE_PARTICIPANT = "remove_participant"
    # A member (not our line) left the group on their own phone: the sandbox's handles can do that.
    MEMBER_LEFT = "member_left"
    LEAVE = "leave"
    RENAME = "rename"
    SET_ICON = "set_icon"

    @property
    def operation(self) -> CarrierOperation:
        """The network operation that carries this change out (named in sandbox fault injection)."""
        return _OPERATION_OF[self]

    @property
    def names_a_member(self) -> bool:
        """Adds, removals and a member's leaving carry the member as their value; the others concern the group."""
        return self in (ChangeKind.ADD_PARTICIPANT, ChangeKind.REMOVE_PARTICIPANT, ChangeKind.MEMBER_LEFT)

    @property
    def takes_a_member_out(self) -> bool:
        """A removal, or a member's own leaving: either way the member is gone once it is applied."""
        return self in (ChangeKind.REMOVE_PARTICIPANT, ChangeKind.MEMBER_LEFT)


class CarrierOperation(StrEnum):
    """What the network does, as ``failing_operations`` of a sandbox handle override names it."""

    ADD = "add"
    REMOVE = "remove"
    LEAVE = "leave"
    RENAME = "rename"
    SET_ICON = "set_icon"
    # A recipient's device receiving a message (failing it fails the message with code 4001).
    DELIVER = "deliver"


_OPERATION_OF = {
    ChangeKind.ADD_PARTICIPANT: CarrierOperation.ADD,
    ChangeKind.REMOVE_PARTICIPANT: CarrierOperation.REMOVE,
    # A handle whose failing_operations name "leave" cannot leave either.
    ChangeKind.MEMBER_LEFT: CarrierOperation.LEAVE,
    ChangeKind.LEAVE: CarrierOperation.LEAVE,
    ChangeKind.RENAME: CarrierOperation.RENAME,
    ChangeKind.SET_ICON: CarrierOperation.SET_ICON,
}


class ChangeStatus(StrEnum):
    """A queued change ends applied or failed, exactly once."""

    QUEUED = "queued"
    APPLIED = "applied"
    FAILED = "failed"


class ParticipantStatus(StrEnum):
    """A member of a chat; one who left (our line) or was removed stays listed with its status."""

    ACTIVE = "active"
    LEFT = "left"
    REMOVED = "removed"


class JobStatus(StrEnum):
    """queued → running → done, or back to queued for a retry, or dead after the last attempt."""

    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    DEAD = "dead"


class WebhookDeliveryStatus(StrEnum):
    """One event to one subscription: pending until delivered, failed for good, or cancelled."""

    PENDING = "pending"
    DELIVERED = "delivered"
    FAILED = "failed"
    CANCELLED = "cancelled"


class MessageStatus(StrEnum):
    """A message's ``delivery_status``, as the Linq API and SDK name it."""

    PENDING = "pending"
    QUEUED = "queued"
    SENT = "sent"
    DELIVERED = "delivered"
    RECEIVED = "received"
    READ = "read"
    FAILED = "failed"


class AttachmentStatus(StrEnum):
    """An attachment waits for its upload, then is complete; an upload that broke off leaves it failed
    (a new upload within the link's life may still complete it)."""

    PENDING = "pending"
    COMPLETE = "complete"
    FAILED = "failed"


class RcsState(StrEnum):
    """What ``check_rcs`` meets on a line (a sandbox setting; lines have RCS enabled unless set)."""

    ENABLED = "enabled"
    NOT_ENABLED = "not_enabled"
    NO_ACCOUNT = "no_account"
    CHECK_FAILS = "check_fails"


class LineStatus(StrEnum):
    """A line's service status (``phone_number.status_updated``): a flagged line is ineligible to send."""

    ACTIVE = "ACTIVE"
    FLAGGED = "FLAGGED"
