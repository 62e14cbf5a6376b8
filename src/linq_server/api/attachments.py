"""/v3/attachments: request an upload link, read an attachment's metadata, delete it."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Response
from pydantic import BaseModel, Field, StrictInt

from linq_server.api.deps import App, BaseUrl, CurrentPartner
from linq_server.api.json_response import JSONResponse
from linq_server.domain import attachments
from linq_server.domain.attachment_rules import MAX_FILENAME_CHARS
from linq_server.shapes.attachments import attachment_json, upload_offer_json

router = APIRouter(tags=["Attachments"])


class CreateAttachmentBody(BaseModel):
    filename: Annotated[str, Field(max_length=MAX_FILENAME_CHARS)]
    # Only the enumerated types pass (400/5004), so no longer value is ever stored.
    content_type: str
    size_bytes: StrictInt


@router.post("/v3/attachments", summary="Request a presigned upload URL", response_model=None)
async def create_attachment(
    body: CreateAttachmentBody, app: App, partner: CurrentPartner, base_url: BaseUrl
) -> JSONResponse:
    offer = await attachments.create_attachment(
        app, partner.id, filename=body.filename, content_type=body.content_type, size_bytes=body.size_bytes,
        base_url=base_url,
    )  # fmt: skip
    return JSONResponse(upload_offer_json(offer))


@router.get("/v3/attachments/{attachment_id}", summary="Retrieve an attachment's metadata", response_model=None)
async def get_attachment(attachment_id: str, app: App, partner: CurrentPartner, base_url: BaseUrl) -> JSONResponse:
    found = await attachments.get_attachment(app, partner.id, attachment_id)
    return JSONResponse(attachment_json(found, attachments.download_url(app, base_url, found)))


@router.delete("/v3/attachments/{attachment_id}", status_code=204, summary="Delete an attachment and its bytes")
async def delete_attachment(attachment_id: str, app: App, partner: CurrentPartner) -> Response:
    await attachments.delete_attachment(app, partner.id, attachment_id)
    return Response(status_code=204)
