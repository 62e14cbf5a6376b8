"""Attachments, typing, contact cards and capability checks: a real server, the official SDK in strict mode."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from linq import APIStatusError, LinqAPIV3

from linq_server.domain.partners import generate_api_key
from tests.support.databases import DatabaseFactory
from tests.support.phones import new_phone
from tests.support.server import ServerProcess, strict_sdk

JPEG = b"\xff\xd8\xff\xe0" + os.urandom(256 * 1024) + b"\xff\xd9"


def assert_error(error: pytest.ExceptionInfo[APIStatusError], status: int, code: int) -> None:
    assert error.value.status_code == status
    body: Any = error.value.body
    assert body["status"] == status and body["code"] == code and body["message"]
    assert error.value.response.json()["success"] is False


@pytest.fixture(scope="module")
def server(databases: DatabaseFactory, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """One server for the module: every test works in its own chats, attachments and addresses."""
    data = tmp_path_factory.mktemp("chat-actions")
    process = ServerProcess(databases.new(), data, generate_api_key(), [new_phone(0), new_phone(0)])
    process.start(timeout=60)
    yield process
    process.stop()


@pytest.fixture(scope="module")
def sdk(server: ServerProcess) -> Iterator[LinqAPIV3]:
    with strict_sdk(server) as client:
        yield client


@pytest.fixture(scope="module")
def stranger(server: ServerProcess) -> Iterator[LinqAPIV3]:
    """Another partner of the same server, made with the real command line."""
    created = subprocess.run(
        [sys.executable, "-m", "linq_server", "partners", "create", "--name", f"stranger-{new_phone()}",
         "--phone-number", new_phone(0)],
        env=server.env, capture_output=True, text=True, check=True,
    )  # fmt: skip
    key = json.loads(created.stdout)["api_key"]
    with LinqAPIV3(api_key=key, base_url=server.base_url, _strict_response_validation=True, max_retries=0) as client:
        yield client


def chat(sdk: LinqAPIV3, server: ServerProcess, *handles: str) -> str:
    created = sdk.chats.create(
        from_=server.phone_numbers[0], to=list(handles), message={"parts": [{"type": "text", "value": "hi"}]}
    )
    return created.chat.id


def test_an_attachment_from_upload_to_delete(server: ServerProcess, sdk: LinqAPIV3) -> None:
    offer = sdk.attachments.create(filename="photo.jpg", content_type="image/jpeg", size_bytes=len(JPEG))
    assert offer.http_method == "PUT" and offer.upload_url.startswith(f"http://127.0.0.1:{server.port}/")
    uploaded = httpx.put(offer.upload_url, content=JPEG, headers=offer.required_headers)
    assert uploaded.status_code == 200

    meta = sdk.attachments.retrieve(offer.attachment_id)
    assert (meta.status, meta.size_bytes, meta.content_type, meta.filename) == (
        "complete",
        len(JPEG),
        "image/jpeg",
        "photo.jpg",
    )
    downloaded = httpx.get(offer.download_url)
    assert downloaded.status_code == 200 and downloaded.content == JPEG

    sdk.attachments.delete(offer.attachment_id)
    with pytest.raises(APIStatusError) as gone:
        sdk.attachments.retrieve(offer.attachment_id)
    assert_error(gone, 404, 2003)
    assert httpx.get(offer.download_url).status_code == 404
    assert httpx.put(offer.upload_url, content=JPEG, headers=offer.required_headers).status_code == 404


@pytest.mark.parametrize(
    ("content_type", "size", "status", "code"),
    [("audio/flac", 10, 400, 5004), ("image/png", 104_857_601, 400, 5005), ("image/png", 0, 400, 1005)],
)
def test_attachment_create_errors(sdk: LinqAPIV3, content_type: str, size: int, status: int, code: int) -> None:
    with pytest.raises(APIStatusError) as error:
        sdk.attachments.create(filename="f", content_type=content_type, size_bytes=size)  # type: ignore[arg-type]
    assert_error(error, status, code)


def test_upload_errors_leave_the_attachment_pending(server: ServerProcess, sdk: LinqAPIV3) -> None:
    offer = sdk.attachments.create(filename="a.png", content_type="image/png", size_bytes=100)
    wrong_type = httpx.put(offer.upload_url, content=b"x" * 100, headers={"Content-Type": "image/gif"})
    assert (wrong_type.status_code, wrong_type.json()["error"]["code"]) == (400, 5006)
    wrong_size = httpx.put(offer.upload_url, content=b"x" * 99, headers={"Content-Type": "image/png"})
    assert (wrong_size.status_code, wrong_size.json()["error"]["code"]) == (400, 5001)
    forged = httpx.put(offer.upload_url + "0", content=b"x" * 100, headers=offer.required_headers)
    assert (forged.status_code, forged.json()["error"]["code"]) == (403, 2005)
    assert sdk.attachments.retrieve(offer.attachment_id).status == "pending"
    assert httpx.get(offer.download_url).json()["error"]["code"] == 2007


def test_another_partners_attachment_is_not_found(server: ServerProcess, sdk: LinqAPIV3, stranger: LinqAPIV3) -> None:
    offer = sdk.attachments.create(filename="a.png", content_type="image/png", size_bytes=4)
    httpx.put(offer.upload_url, content=b"abcd", headers=offer.required_headers)
    for call in (stranger.attachments.retrieve, stranger.attachments.delete):
        with pytest.raises(APIStatusError) as error:
            call(offer.attachment_id)
        assert_error(error, 404, 2003)
    unsigned = offer.download_url.split("?")[0]
    assert httpx.get(unsigned, headers={"Authorization": f"Bearer {stranger.api_key}"}).status_code == 404
    assert httpx.get(unsigned, headers={"Authorization": f"Bearer {sdk.api_key}"}).content == b"abcd"


def test_typing_on_and_off(server: ServerProcess, sdk: LinqAPIV3, stranger: LinqAPIV3) -> None:
    chat_id = chat(sdk, server, new_phone(1))
    shown = f"http://127.0.0.1:{server.port}/sandbox/chats/{chat_id}/typing"
    headers = {"Authorization": f"Bearer {server.api_key}"}
    assert sdk.chats.typing.start(chat_id) is None
    assert httpx.get(shown, headers=headers).json()["is_typing"] is True
    assert sdk.chats.typing.stop(chat_id) is None
    assert httpx.get(shown, headers=headers).json()["is_typing"] is False
    for call in (stranger.chats.typing.start, stranger.chats.typing.stop):
        with pytest.raises(APIStatusError) as error:
            call(chat_id)
        assert_error(error, 404, 2001)


def test_contact_card_create_share_and_a_second_share_is_429(
    server: ServerProcess, sdk: LinqAPIV3, stranger: LinqAPIV3
) -> None:
    line = server.phone_numbers[0]
    chat_id = chat(sdk, server, new_phone(1))
    once = sdk.with_options(max_retries=0)
    with pytest.raises(APIStatusError) as no_card:
        once.chats.share_contact_card(chat_id)
    assert_error(no_card, 404, 2012)

    card = sdk.contact_card.create(phone_number=line, first_name="Ada", last_name="Lovelace")
    assert (card.phone_number, card.is_active) == (line, True)
    assert sdk.contact_card.retrieve(phone_number=line).contact_cards[0].first_name == "Ada"
    assert sdk.contact_card.update(phone_number=line, image_url="https://example.com/a.png").image_url == (
        "https://example.com/a.png"
    )
    with pytest.raises(APIStatusError) as exists:
        once.contact_card.create(phone_number=line, first_name="Ada")
    assert_error(exists, 409, 2014)

    assert sdk.chats.share_contact_card(chat_id) is None
    with pytest.raises(APIStatusError) as again:
        once.chats.share_contact_card(chat_id)
    assert_error(again, 429, 1007)
    assert again.value.response.headers["retry-after"] == str(again.value.body["retry_after"])  # type: ignore[index]
    with pytest.raises(APIStatusError) as foreign:
        stranger.chats.share_contact_card(chat_id)
    assert_error(foreign, 404, 2001)
    with pytest.raises(APIStatusError) as not_theirs:
        stranger.contact_card.retrieve(phone_number=line)
    assert_error(not_theirs, 403, 2006)


@pytest.mark.parametrize(
    ("address", "imessage", "rcs"),
    [
        (new_phone(1), (True, None, "iMessage"), (True, None, "iMessage")),  # an iPhone
        (new_phone(7), (False, "not_supported", "RCS"), (True, None, "RCS")),  # an Android phone
        (new_phone(9), (False, "not_supported", "SMS"), (False, "not_supported", "SMS")),  # a basic phone
        ("someone@example.com", (True, None, "iMessage"), None),  # an Apple ID: no RCS addressing
    ],
)
def test_capability_checks(
    sdk: LinqAPIV3, address: str, imessage: tuple[Any, ...], rcs: tuple[Any, ...] | None
) -> None:
    checked = sdk.capability.check_i_message(address=address)
    assert (checked.address, checked.available, checked.reason, checked.selected_service) == (address, *imessage)
    once = sdk.with_options(max_retries=0)
    if rcs is None:
        with pytest.raises(APIStatusError) as email:
            once.capability.check_RCS(address=address)
        assert_error(email, 400, 1002)
    else:
        checked = sdk.capability.check_RCS(address=address)
        assert (checked.available, checked.reason, checked.selected_service) == rcs
    with pytest.raises(APIStatusError) as limited:
        once.capability.check_i_message(address=address)
    assert_error(limited, 429, 1007)


def test_check_rcs_without_rcs_on_the_line_is_503(server: ServerProcess, sdk: LinqAPIV3) -> None:
    headers = {"Authorization": f"Bearer {server.api_key}"}
    for line in server.phone_numbers:
        response = httpx.put(
            f"http://127.0.0.1:{server.port}/sandbox/lines/{line}", json={"rcs": "not_enabled"}, headers=headers
        )
        assert response.status_code == 200
    with pytest.raises(APIStatusError) as error:
        sdk.with_options(max_retries=0).capability.check_RCS(address=new_phone(7))
    assert_error(error, 503, 4004)
    assert error.value.response.headers["x-should-retry"] == "false"
