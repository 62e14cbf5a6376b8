"""The links of ``POST /v3/attachments``: the signed upload target (PUT) and the download link (GET).

Outside ``/v3`` because a link, not an API key, is what grants access (the owner's key works too for
downloads). Bodies stream in and out chunk by chunk.
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import StreamingResponse

from linq_server.api.deps import App, MaybePartner
from linq_server.domain import attachments
from linq_server.domain.signed_links import DOWNLOAD_PATH, UPLOAD_PATH

router = APIRouter(tags=["Attachment files"])


@router.put(f"{UPLOAD_PATH}/{{attachment_id}}", status_code=200, summary="Upload an attachment's bytes")
async def upload(
    attachment_id: str,
    request: Request,
    app: App,
    expires: Annotated[str, Query()] = "",
    signature: Annotated[str, Query()] = "",
) -> Response:
    await attachments.receive_upload(
        app, attachment_id, expires=expires, signature=signature,
        content_type=request.headers.get("content-type"), content_length=request.headers.get("content-length"),
        body=request.stream(),
    )  # fmt: skip
    return Response(status_code=200)


@router.get(f"{DOWNLOAD_PATH}/{{attachment_id}}/{{filename}}", summary="Download an attachment's bytes")
async def download(
    attachment_id: str, filename: str, app: App, partner: MaybePartner, signature: str | None = None
) -> StreamingResponse:
    attachment, chunks = await attachments.open_download(
        app, attachment_id, signature=signature, partner_id=partner.id if partner else None
    )
    return StreamingResponse(
        chunks,
        media_type=attachment.content_type,
        headers={
            "content-length": str(attachment.size_bytes),
            "content-disposition": f"inline; filename*=UTF-8''{quote(attachment.filename, safe='')}",
            "cache-control": "private, max-age=3600",
        },
    )
