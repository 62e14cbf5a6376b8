"""Capability checks through the HTTP API in-process, on a clock the test moves."""

from __future__ import annotations

from typing import Any

import pytest
from linq.types.handle_check_response import HandleCheckResponse

from tests.api.test_errors import assert_envelope
from tests.conftest import World, make_partner
from tests.support.phones import new_phone


async def check(world: World, kind: str, address: str, **extra: Any) -> Any:
    return await world.http.post(f"/v3/capability/check_{kind}", json={"address": address, **extra})


async def answer(world: World, kind: str, address: str, **extra: Any) -> dict[str, Any]:
    response = await check(world, kind, address, **extra)
    assert response.status_code == 200, response.text
    HandleCheckResponse.model_validate(response.json())
    body: dict[str, Any] = response.json()
    return body


@pytest.mark.parametrize(
    ("last_digit", "imessage", "rcs"),
    [
        (1, {"available": True, "selected_service": "iMessage"}, {"available": True, "selected_service": "iMessage"}),
        (
            7,
            {"available": False, "reason": "not_supported", "selected_service": "RCS"},
            {"available": True, "selected_service": "RCS"},
        ),
        (
            9,
            {"available": False, "reason": "not_supported", "selected_service": "SMS"},
            {"available": False, "reason": "not_supported", "selected_service": "SMS"},
        ),
    ],
)
async def test_phones(world: World, last_digit: int, imessage: dict[str, Any], rcs: dict[str, Any]) -> None:
    phone = new_phone(last_digit)
    assert await answer(world, "imessage", phone) == {"address": phone, **imessage}
    assert await answer(world, "rcs", phone) == {"address": phone, **rcs}


async def test_an_email(world: World) -> None:
    assert await answer(world, "imessage", "Ada@Example.com") == {
        "address": "ada@example.com", "available": True, "selected_service": "iMessage",
    }  # fmt: skip
    assert_envelope(await check(world, "rcs", "ada@example.com"), 400, 1002)


async def test_overrides_decide(world: World) -> None:
    phone = new_phone(1)
    put = await world.http.put(f"http://testserver/sandbox/handles/{phone}", json={"services": ["SMS"]})
    assert put.status_code == 200
    assert await answer(world, "imessage", phone) == {
        "address": phone, "available": False, "reason": "not_supported", "selected_service": "SMS",
    }  # fmt: skip
    nothing = "nobody@example.com"
    await world.http.put(f"http://testserver/sandbox/handles/{nothing}", json={"services": []})
    assert await answer(world, "imessage", nothing) == {
        "address": nothing,
        "available": False,
        "reason": "not_supported",
    }


async def test_one_check_per_address_per_10_seconds(world: World) -> None:
    phone = new_phone(1)
    await answer(world, "imessage", phone)
    limited = await check(world, "imessage", phone)
    assert_envelope(limited, 429, 1007, "Rate limited. Try again in 10 seconds.")
    assert limited.headers["retry-after"] == "10" and limited.json()["error"]["retry_after"] == 10
    await answer(world, "rcs", phone)  # the other check has its own window
    world.clock.advance(10)
    await answer(world, "imessage", phone)


@pytest.mark.parametrize(("rcs", "code"), [("not_enabled", 4004), ("no_account", 4009), ("check_fails", 4010)])
async def test_check_rcs_is_503_when_the_line_has_no_working_rcs(world: World, rcs: str, code: int) -> None:
    for line in world.partner.lines:
        put = await world.http.put(f"http://testserver/sandbox/lines/{line}", json={"rcs": rcs})
        assert put.status_code == 200 and put.json() == {"phone_number": line, "rcs": rcs, "status": "ACTIVE"}
    phone = new_phone(7)
    assert_envelope(await check(world, "rcs", phone), 503, code)
    # Not counted: the check never ran, so a retry once the line is fixed is not rate limited.
    await world.http.put(f"http://testserver/sandbox/lines/{world.partner.lines[0]}", json={"rcs": "enabled"})
    await answer(world, "rcs", phone)
    # iMessage checks still run, and a message from that line would fall back to SMS.
    assert await answer(world, "imessage", phone, **{"from": world.partner.lines[1]}) == {
        "address": phone, "available": False, "reason": "not_supported", "selected_service": "SMS",
    }  # fmt: skip


async def test_without_from_a_line_with_rcs_is_picked(world: World) -> None:
    await world.http.put(f"http://testserver/sandbox/lines/{world.partner.lines[0]}", json={"rcs": "not_enabled"})
    assert (await answer(world, "rcs", new_phone(7)))["available"] is True
    assert_envelope(await check(world, "rcs", new_phone(7), **{"from": world.partner.lines[0]}), 503, 4004)


async def test_check_errors(world: World) -> None:
    assert_envelope(await world.http.post("/v3/capability/check_imessage", json={}), 400, 1001)
    assert_envelope(await check(world, "imessage", "not a handle"), 400, 1002)
    assert_envelope(await check(world, "rcs", "+1 415 555 0101"), 400, 1002)
    assert_envelope(await check(world, "imessage", new_phone(1), **{"from": new_phone(0)}), 403, 2006)
    other = await make_partner(world.services.db)
    foreign = {"Authorization": f"Bearer {other.api_key}"}
    response = await world.http.post(
        "/v3/capability/check_imessage", json={"address": new_phone(1), "from": world.partner.lines[0]}, headers=foreign
    )
    assert_envelope(response, 403, 2006)
    assert_envelope(
        await world.http.put(f"http://testserver/sandbox/lines/{world.partner.lines[0]}", json={"rcs": "off"}),
        400,
        1005,
    )
    assert_envelope(
        await world.http.put(
            f"http://testserver/sandbox/lines/{world.partner.lines[0]}", json={"rcs": "enabled"}, headers=foreign
        ),
        403,
        2006,
    )
    no_key = {"Authorization": ""}
    assert_envelope(
        await world.http.post("/v3/capability/check_rcs", json={"address": new_phone(1)}, headers=no_key), 401, 2004
    )
