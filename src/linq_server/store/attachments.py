"""Attachments: metadata rows; the bytes themselves are in ``linq_server.storage``."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from linq_server.store.schema import attachments
from linq_server.vocabulary import AttachmentStatus


@dataclass(frozen=True, slots=True)
class Attachment:
    id: str
    partner_id: str
    filename: str
    content_type: str
    size_bytes: int
    status: AttachmentStatus
    storage_key: str | None
    upload_expires_at: datetime
    created_at: datetime
    completed_at: datetime | None


_COLUMNS = [attachments.c[name] for name in Attachment.__slots__]


async def insert(conn: AsyncConnection, attachment: Attachment) -> None:
    values = {name: getattr(attachment, name) for name in Attachment.__slots__}
    await conn.execute(attachments.insert().values(**values))


async def by_id(conn: AsyncConnection, attachment_id: str, partner_id: str | None = None) -> Attachment | None:
    """The attachment; with ``partner_id``, only if it is that partner's."""
    query = sa.select(*_COLUMNS).where(attachments.c.id == attachment_id)
    if partner_id is not None:
        query = query.where(attachments.c.partner_id == partner_id)
    row = (await conn.execute(query)).first()
    return Attachment(*row) if row else None


async def of_partner(conn: AsyncConnection, attachment_ids: list[str], partner_id: str) -> dict[str, Attachment]:
    """Those of the attachments that are the partner's, by id."""
    query = sa.select(*_COLUMNS).where(attachments.c.id.in_(attachment_ids), attachments.c.partner_id == partner_id)
    return {row.id: Attachment(*row) for row in await conn.execute(query)}


async def complete(conn: AsyncConnection, attachment_id: str, storage_key: str, now: datetime) -> bool:
    """Point the attachment at its uploaded bytes; False when it is gone or another upload completed it first."""
    result = await conn.execute(
        attachments.update()
        .where(attachments.c.id == attachment_id, attachments.c.status != AttachmentStatus.COMPLETE)
        .values(status=AttachmentStatus.COMPLETE, storage_key=storage_key, completed_at=now)
    )
    return bool(result.rowcount == 1)


async def mark_failed(conn: AsyncConnection, attachment_id: str) -> None:
    await conn.execute(
        attachments.update()
        .where(attachments.c.id == attachment_id, attachments.c.status == AttachmentStatus.PENDING)
        .values(status=AttachmentStatus.FAILED)
    )


async def delete(conn: AsyncConnection, attachment_id: str, partner_id: str) -> Attachment | None:
    """Delete the partner's attachment; returns what was deleted (None when there was nothing of theirs)."""
    statement = (
        attachments.delete()
        .where(attachments.c.id == attachment_id, attachments.c.partner_id == partner_id)
        .returning(*_COLUMNS)
    )
    row = (await conn.execute(statement)).first()
    return Attachment(*row) if row else None
