"""GET /v3/phone_numbers and its deprecated alias GET /v3/phonenumbers."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter
from pydantic import BaseModel

from linq_server.api.deps import App, CurrentPartner
from linq_server.domain import partners
from linq_server.store.partners import PhoneLine

router = APIRouter(tags=["Phone Numbers"])

REPUTATION_DOC_URL = "https://docs.linqapp.com/channel/imessage/guides/phone-numbers/phone-reputation"


class Reputation(BaseModel):
    status: Literal["HEALTHY", "AT_RISK", "CRITICAL"]
    doc_url: str


class PhoneNumber(BaseModel):
    id: str
    phone_number: str
    reputation: Reputation
    forwarding_number: str | None
    line_type: Literal["iMessage", "RCS"] | None


class PhoneNumberList(BaseModel):
    phone_numbers: list[PhoneNumber]


class Capabilities(BaseModel):
    sms: bool
    mms: bool
    voice: bool


class LegacyPhoneNumber(BaseModel):
    id: str
    phone_number: str
    capabilities: Capabilities
    country_code: str | None = None  # "Deprecated. Always null." (linq-python 0.65.0)
    type: str | None = None  # "Deprecated. Always null."


class LegacyPhoneNumberList(BaseModel):
    phone_numbers: list[LegacyPhoneNumber]


def _current(line: PhoneLine) -> PhoneNumber:
    return PhoneNumber(
        id=line.id,
        phone_number=line.phone_number,
        reputation=Reputation(status="HEALTHY", doc_url=f"{REPUTATION_DOC_URL}#healthy"),
        forwarding_number=line.forwarding_number,
        line_type="RCS" if line.line_type == "RCS" else "iMessage",
    )


@router.get("/v3/phone_numbers", summary="List phone numbers")
async def list_phone_numbers(app: App, partner: CurrentPartner) -> PhoneNumberList:
    lines = await partners.lines_of(app.db, partner.id)
    return PhoneNumberList(phone_numbers=[_current(line) for line in lines])


@router.get("/v3/phonenumbers", summary="List phone numbers (deprecated)", deprecated=True)
async def list_phonenumbers(app: App, partner: CurrentPartner) -> LegacyPhoneNumberList:
    lines = await partners.lines_of(app.db, partner.id)
    return LegacyPhoneNumberList(
        phone_numbers=[
            LegacyPhoneNumber(
                id=line.id, phone_number=line.phone_number, capabilities=Capabilities(**line.capabilities)
            )
            for line in lines
        ]
    )
