"""Attachments as the API shows them: the upload offer of ``POST /v3/attachments`` and the metadata of ``GET``."""

from __future__ import annotations

from typing import Any

from linq_server.clock import isoformat
from linq_server.domain.attachments import UploadOffer
from linq_server.store.attachments import Attachment


def upload_offer_json(offer: UploadOffer) -> dict[str, Any]:
    return {
        "attachment_id": offer.attachment.id,
        "upload_url": offer.upload_url,
        "download_url": offer.download_url,
        "http_method": "PUT",
        "expires_at": isoformat(offer.attachment.upload_expires_at),
        "required_headers": offer.required_headers,
    }


def attachment_json(attachment: Attachment, download_url: str) -> dict[str, Any]:
    """The metadata; ``download_url`` is the attachment's stable link (404/2007 until the upload lands)."""
    return {
        "id": attachment.id,
        "filename": attachment.filename,
        "content_type": attachment.content_type,
        "size_bytes": attachment.size_bytes,
        "status": attachment.status,
        "created_at": isoformat(attachment.created_at),
        "download_url": download_url,
    }
