from __future__ import annotations

import json

import httpx
from linq.types.phone_number_list_response import PhoneNumberListResponse
from linq.types.phonenumber_list_response import PhonenumberListResponse

from linq_server.config import Settings
from tests.conftest import PartnerAccount
from tests.support.cli import run_cli
from tests.support.phones import new_phone


async def test_lists_the_partners_lines_in_the_sdk_shape(client: httpx.AsyncClient, partner: PartnerAccount) -> None:
    response = await client.get("/v3/phone_numbers")
    assert response.status_code == 200
    parsed = PhoneNumberListResponse.model_validate(response.json())
    assert [line.phone_number for line in parsed.phone_numbers] == partner.lines
    for line in response.json()["phone_numbers"]:
        assert set(line) == {"id", "phone_number", "reputation", "forwarding_number", "line_type"}
        assert line["reputation"]["status"] == "HEALTHY"
        assert line["forwarding_number"] is None
        assert line["line_type"] == "iMessage"


async def test_deprecated_alias_has_its_own_shape(client: httpx.AsyncClient, partner: PartnerAccount) -> None:
    response = await client.get("/v3/phonenumbers")
    assert response.status_code == 200
    parsed = PhonenumberListResponse.model_validate(response.json())
    assert [line.phone_number for line in parsed.phone_numbers] == partner.lines
    first = response.json()["phone_numbers"][0]
    assert first["country_code"] is None and first["type"] is None
    assert first["capabilities"] == {"sms": True, "mms": True, "voice": False}
    current = (await client.get("/v3/phone_numbers")).json()["phone_numbers"]
    assert [line["id"] for line in current] == [line["id"] for line in response.json()["phone_numbers"]]


async def test_a_partner_made_with_the_cli_sees_only_its_own_lines(
    client: httpx.AsyncClient, partner: PartnerAccount, settings: Settings
) -> None:
    own_line = new_phone()
    result = await run_cli(
        settings.database_url, "partners", "create", "--name", f"cli-{own_line}", "--phone-number", own_line
    )
    assert result.returncode == 0, result.stderr
    created = json.loads(result.stdout)
    assert set(created) == {"partner_id", "api_key", "phone_numbers"}
    assert created["phone_numbers"] == [own_line]

    theirs = await client.get("/v3/phone_numbers", headers={"Authorization": f"Bearer {created['api_key']}"})
    assert [line["phone_number"] for line in theirs.json()["phone_numbers"]] == [own_line]
    mine = await client.get("/v3/phone_numbers")
    assert [line["phone_number"] for line in mine.json()["phone_numbers"]] == partner.lines

    listed = await run_cli(settings.database_url, "partners", "list")
    assert created["api_key"] not in listed.stdout
    assert any(json.loads(row)["partner_id"] == created["partner_id"] for row in listed.stdout.splitlines())


async def test_cli_refuses_a_line_that_belongs_to_someone_else(partner: PartnerAccount, settings: Settings) -> None:
    result = await run_cli(
        settings.database_url, "partners", "create", "--name", "thief", "--phone-number", partner.lines[0]
    )
    assert result.returncode == 1
    assert "belongs to another partner" in result.stdout
