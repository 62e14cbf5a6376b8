"""Media in messages and voice memos: a real server, the official SDK in strict mode, real uploads
and a real HTTPS host for media sent by URL."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from linq import APIStatusError, LinqAPIV3
from linq.types.shared.media_part_response import MediaPartResponse

from linq_server.domain.partners import generate_api_key
from tests.e2e.test_messages import unwrapped
from tests.support.databases import DatabaseFactory
from tests.support.media_host import MediaHost
from tests.support.phones import new_phone
from tests.support.receiver import Receiver
from tests.support.server import ServerProcess, strict_sdk

JPEG = b"\xff\xd8\xff\xe0" + os.urandom(64 * 1024) + b"\xff\xd9"
M4A = b"\x00\x00\x00\x20ftypM4A " + os.urandom(32 * 1024)
TEN_MB = 10 * 1024 * 1024
UNKNOWN = "0b9b3f1c-7d7e-4a4e-9d53-1f0b8f3e2a10"


def assert_error(error: pytest.ExceptionInfo[APIStatusError], status: int, code: int) -> None:
    assert error.value.status_code == status
    body: Any = error.value.body
    assert body["status"] == status and body["code"] == code and body["message"], body
    assert error.value.response.json()["success"] is False


@pytest.fixture(scope="module")
def host(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MediaHost]:
    running = MediaHost(tmp_path_factory.mktemp("media-host")).start()
    yield running
    running.stop()


@pytest.fixture(scope="module")
def server(
    databases: DatabaseFactory, tmp_path_factory: pytest.TempPathFactory, host: MediaHost
) -> Iterator[ServerProcess]:
    """One server for the module (sandbox mode: it may read the local HTTPS host, whose certificate it trusts)."""
    process = ServerProcess(
        databases.new(), tmp_path_factory.mktemp("message-media"), generate_api_key(), [new_phone(0), new_phone(0)],
        extra_env={"SSL_CERT_FILE": str(host.cert_path)},
    )  # fmt: skip
    process.start(timeout=60)
    yield process
    process.stop()


@pytest.fixture(scope="module")
def sdk(server: ServerProcess) -> Iterator[LinqAPIV3]:
    with strict_sdk(server) as client:
        yield client


@pytest.fixture(scope="module")
def once(sdk: LinqAPIV3) -> LinqAPIV3:
    """No automatic retries: every error answer is seen as the server gave it."""
    return sdk.with_options(max_retries=0)


@pytest.fixture(scope="module")
def stranger(server: ServerProcess) -> Iterator[LinqAPIV3]:
    created = subprocess.run(
        [sys.executable, "-m", "linq_server", "partners", "create", "--name", f"stranger-{new_phone()}",
         "--phone-number", new_phone(0)],
        env=server.env, capture_output=True, text=True, check=True,
    )  # fmt: skip
    key = json.loads(created.stdout)["api_key"]
    with LinqAPIV3(api_key=key, base_url=server.base_url, _strict_response_validation=True, max_retries=0) as client:
        yield client


def upload(sdk: LinqAPIV3, filename: str, content_type: Any, body: bytes) -> str:
    offer = sdk.attachments.create(filename=filename, content_type=content_type, size_bytes=len(body))
    assert httpx.put(offer.upload_url, content=body, headers=offer.required_headers).status_code == 200
    return offer.attachment_id


def chat_with(sdk: LinqAPIV3, server: ServerProcess, handle: str) -> str:
    return sdk.chats.create(
        from_=server.phone_numbers[0], to=[handle], message={"parts": [{"type": "text", "value": "hi"}]}
    ).chat.id


def media(part: Any) -> tuple[str, str, str, int]:
    assert part.type == "media"
    return part.id, part.filename, part.mime_type, part.size_bytes


def test_an_upload_sent_as_a_media_part_reads_back_byte_for_byte(server: ServerProcess, sdk: LinqAPIV3) -> None:
    attachment_id = upload(sdk, "photo.jpg", "image/jpeg", JPEG)
    chat_id = chat_with(sdk, server, new_phone(1))
    sent = sdk.chats.messages.send(
        chat_id,
        message={"parts": [
            {"type": "text", "value": "look", "inline_stickers": [{"range": [0, 2], "attachment_id": attachment_id}]},
            {"type": "media", "attachment_id": attachment_id},
        ]},
    )  # fmt: skip
    assert media(sent.message.parts[1]) == (attachment_id, "photo.jpg", "image/jpeg", len(JPEG))
    sticker: Any = sent.message.parts[0].inline_stickers[0]  # type: ignore[union-attr,index]
    assert (sticker.id, sticker.file_name, sticker.mime_type) == (attachment_id, "photo.jpg", "image/jpeg")
    assert sticker.url == sent.message.parts[1].url  # type: ignore[union-attr]
    read = sdk.messages.retrieve(sent.message.id)
    assert read.parts is not None and read.parts[1].url == sent.message.parts[1].url  # type: ignore[union-attr]
    fetched = httpx.get(read.parts[1].url)  # type: ignore[union-attr]
    assert fetched.status_code == 200 and fetched.content == JPEG

    # The same attachment in a new chat's first message and in a send without a line.
    first = sdk.chats.create(
        from_=server.phone_numbers[0],
        to=[new_phone(1)],
        message={"parts": [{"type": "media", "attachment_id": attachment_id}]},
    )
    assert media(first.chat.message.parts[0])[0] == attachment_id
    auto = sdk.messages.create(
        to=[new_phone(1)], message={"parts": [{"type": "media", "attachment_id": attachment_id}]}
    )
    assert httpx.get(auto.message.parts[0].url).content == JPEG  # type: ignore[union-attr]

    # Deleting the attachment takes its bytes; the message keeps every part, its media link answers 404.
    sdk.attachments.delete(attachment_id)
    after = sdk.messages.retrieve(sent.message.id)
    assert after.parts is not None and after.parts[0].value == "look"  # type: ignore[union-attr]
    assert media(after.parts[1]) == (attachment_id, "photo.jpg", "image/jpeg", len(JPEG))
    assert httpx.get(after.parts[1].url).status_code == 404  # type: ignore[union-attr]


def test_attachment_ids_that_cannot_be_sent(
    server: ServerProcess, sdk: LinqAPIV3, once: LinqAPIV3, stranger: LinqAPIV3
) -> None:
    chat_id = chat_with(sdk, server, new_phone(1))
    pending = sdk.attachments.create(filename="later.png", content_type="image/png", size_bytes=10).attachment_id
    theirs = upload(stranger, "theirs.png", "image/png", b"\x89PNG" + b"x" * 12)
    mine = upload(sdk, "mine.png", "image/png", b"\x89PNG" + b"y" * 12)
    for attachment_id, status, code in ((UNKNOWN, 404, 2003), ("not-a-uuid", 404, 2003), (theirs, 404, 2003),
                                        (pending, 404, 2007)):  # fmt: skip
        message: Any = {"parts": [{"type": "media", "attachment_id": attachment_id}]}
        with pytest.raises(APIStatusError) as in_chat:
            once.chats.messages.send(chat_id, message=message)
        assert_error(in_chat, status, code)
        with pytest.raises(APIStatusError) as without_line:
            once.messages.create(to=[new_phone(1)], message=message)
        assert_error(without_line, status, code)
        with pytest.raises(APIStatusError) as new_chat:
            once.chats.create(from_=server.phone_numbers[0], to=[new_phone(1)], message=message)
        assert_error(new_chat, status, code)
    # The other way round: the stranger cannot send this partner's attachment either.
    their_chat = stranger.chats.create(
        from_=stranger.phone_numbers.list().phone_numbers[0].phone_number, to=[new_phone(1)],
        message={"parts": [{"type": "text", "value": "hi"}]},
    ).chat.id  # fmt: skip
    with pytest.raises(APIStatusError) as foreign:
        stranger.chats.messages.send(their_chat, message={"parts": [{"type": "media", "attachment_id": mine}]})
    assert_error(foreign, 404, 2003)


def test_our_own_download_links_stand_for_their_attachments(
    server: ServerProcess, sdk: LinqAPIV3, once: LinqAPIV3, stranger: LinqAPIV3, host: MediaHost
) -> None:
    """api-core §13.3 P3 and §15.5: a media URL that is one of our download links is its attachment, never
    read over HTTP (even an http link of a local server), exempt from the 40 parts by URL, and the partner's only."""
    photo = upload(sdk, "photo.jpg", "image/jpeg", JPEG)
    link = sdk.attachments.retrieve(photo).download_url
    assert link is not None and link.startswith("http://")  # not https: only our own link may be
    chat_id = chat_with(sdk, server, new_phone(1))
    sent = sdk.chats.messages.send(chat_id, message={"parts": [{"type": "media", "url": link}] * 41})
    assert [media(part) for part in sent.message.parts] == [(photo, "photo.jpg", "image/jpeg", len(JPEG))] * 41
    assert sent.message.parts[0].url == link  # type: ignore[union-attr]
    first = sdk.chats.create(
        from_=server.phone_numbers[0], to=[new_phone(1)], message={"parts": [{"type": "media", "url": link}]}
    )
    assert media(first.chat.message.parts[0])[0] == photo
    memo = upload(sdk, "memo.m4a", "audio/x-m4a", M4A)
    memo_link = sdk.attachments.retrieve(memo).download_url
    assert memo_link is not None
    assert sdk.chats.send_voicememo(chat_id, voice_memo_url=memo_link).voice_memo.voice_memo.id == memo

    # 41 parts by any other URL are refused before one is read.
    with pytest.raises(APIStatusError) as too_many:
        once.chats.messages.send(
            chat_id, message={"parts": [{"type": "media", "url": host.url("/never/read.jpg")}] * 41}
        )
    assert_error(too_many, 400, 1004)
    # Another partner's link, and a link we did not sign, are refused (404/2003), not read.
    their_chat = stranger.chats.create(
        from_=stranger.phone_numbers.list().phone_numbers[0].phone_number, to=[new_phone(1)],
        message={"parts": [{"type": "text", "value": "hi"}]},
    ).chat.id  # fmt: skip
    forged = link.replace("signature=", "signature=x")
    for client, chat, url in ((stranger, their_chat, link), (once, chat_id, forged)):
        with pytest.raises(APIStatusError) as refused:
            client.chats.messages.send(chat, message={"parts": [{"type": "media", "url": url}]})
        assert_error(refused, 404, 2003)


def test_a_send_clears_the_typing_indicator(server: ServerProcess, sdk: LinqAPIV3) -> None:
    chat_id = chat_with(sdk, server, new_phone(1))
    shown = f"http://127.0.0.1:{server.port}/sandbox/chats/{chat_id}/typing"
    headers = {"Authorization": f"Bearer {server.api_key}"}
    sdk.chats.typing.start(chat_id)
    assert httpx.get(shown, headers=headers).json()["is_typing"] is True
    sdk.chats.messages.send(chat_id, message={"parts": [{"type": "text", "value": "done typing"}]})
    assert httpx.get(shown, headers=headers).json() == {"chat_id": chat_id, "is_typing": False, "expires_at": None}


def test_media_by_url(server: ServerProcess, sdk: LinqAPIV3, once: LinqAPIV3, host: MediaHost) -> None:
    chat_id = chat_with(sdk, server, new_phone(1))
    url = host.serve("/pics/cat.jpg", JPEG, "image/jpeg")
    sent = sdk.chats.messages.send(chat_id, message={"parts": [{"type": "media", "url": url}]})
    part: Any = sent.message.parts[0]
    assert (part.url, part.filename, part.mime_type, part.size_bytes) == (url, "cat.jpg", "image/jpeg", len(JPEG))
    assert sdk.messages.retrieve(sent.message.id).parts[0].id == part.id  # type: ignore[index]

    # An octet-stream answer takes its type from the extension.
    blob = host.serve("/docs/report.pdf", b"%PDF-1.7 ...", "application/octet-stream")
    pdf: Any = sdk.chats.messages.send(chat_id, message={"parts": [{"type": "media", "url": blob}]}).message.parts[0]
    assert (pdf.mime_type, pdf.size_bytes) == ("application/pdf", 12)

    exe = host.url("/tools/setup.exe")
    cases = [
        (exe, 400, 5004),  # refused by its name: never read
        (host.serve("/sound/song.mp3", b"fLaC" + b"0" * 64, "audio/flac"), 400, 5004),
        (host.serve("/pics/huge.jpg", b"0" * (TEN_MB + 1), "image/jpeg"), 400, 5005),
        (host.url("/pics/missing.jpg"), 500, 5002),
        ("http://127.0.0.1/cat.jpg", 400, 1004),  # https only
    ]
    for target, status, code in cases:
        with pytest.raises(APIStatusError) as error:
            once.chats.messages.send(chat_id, message={"parts": [{"type": "media", "url": target}]})
        assert_error(error, status, code)
    assert "/tools/setup.exe" not in host.requests
    # Exactly 10 MB is still allowed.
    edge = host.serve("/pics/edge.jpg", b"0" * TEN_MB, "image/jpeg")
    assert (
        sdk.chats.messages.send(chat_id, message={"parts": [{"type": "media", "url": edge}]})
        .message.parts[0]
        .size_bytes
        == TEN_MB
    )  # type: ignore[union-attr]


def test_voice_memos_by_attachment_and_by_url(server: ServerProcess, sdk: LinqAPIV3, host: MediaHost) -> None:
    receiver = Receiver().start()
    try:
        secret = sdk.webhook_subscriptions.create(
            target_url=receiver.url, subscribed_events=["message.sent", "message.delivered"]
        ).signing_secret
        iphone = new_phone(1)
        chat_id = chat_with(sdk, server, iphone)
        attachment_id = upload(sdk, "memo.m4a", "audio/x-m4a", M4A)
        by_attachment = sdk.chats.send_voicememo(chat_id, attachment_id=attachment_id).voice_memo
        assert (by_attachment.chat.id, by_attachment.from_, by_attachment.to) == (
            chat_id,
            server.phone_numbers[0],
            [iphone],
        )
        assert by_attachment.status == "queued" and by_attachment.chat.service == "iMessage"
        memo = by_attachment.voice_memo
        assert (memo.id, memo.filename, memo.mime_type, memo.size_bytes) == (
            attachment_id,
            "memo.m4a",
            "audio/x-m4a",
            len(M4A),
        )
        assert httpx.get(memo.url).content == M4A

        url = host.serve("/voice/hello.mp3", b"ID3" + os.urandom(4096), "audio/mpeg")
        by_url = sdk.chats.send_voicememo(chat_id, voice_memo_url=url).voice_memo
        assert (by_url.voice_memo.url, by_url.voice_memo.mime_type, by_url.voice_memo.size_bytes) == (
            url,
            "audio/mpeg",
            4099,
        )

        # The normal message lifecycle: both are messages of the chat, sent and delivered with webhooks (waited
        # for by id: the module's other tests share the partner, and their late webhooks arrive here too).
        wanted = {
            ("message.delivered", by_attachment.id),
            ("message.delivered", by_url.id),
            ("message.sent", by_url.id),
        }
        deadline = time.monotonic() + 30
        while not wanted <= {(e.event_type, e.data.id) for e in unwrapped(sdk, secret, receiver)}:
            assert time.monotonic() < deadline, "the voice memos' webhooks did not all arrive"
            time.sleep(0.02)
        # The webhook carries the audio as a media part of the response shape (validated, not just constructed).
        raw = [json.loads(hit.text) for hit in receiver.received]
        sent_event = next(e for e in raw if e["event_type"] == "message.sent" and e["data"]["id"] == by_url.id)
        (part,) = sent_event["data"]["parts"]
        assert MediaPartResponse.model_validate(part).url == url
        stored = sdk.messages.retrieve(by_attachment.id)
        assert stored.delivery_status == "delivered" and stored.parts is not None
        assert media(stored.parts[0]) == (attachment_id, "memo.m4a", "audio/x-m4a", len(M4A))
    finally:
        receiver.stop()


def test_voice_memo_error_rows(
    server: ServerProcess, sdk: LinqAPIV3, once: LinqAPIV3, stranger: LinqAPIV3, host: MediaHost
) -> None:
    chat_id = chat_with(sdk, server, new_phone(1))
    sms_chat = chat_with(sdk, server, new_phone(9))
    photo = upload(sdk, "photo.png", "image/png", b"\x89PNG" + b"z" * 12)
    memo = upload(sdk, "memo.mp3", "audio/mpeg", b"ID3" + b"m" * 100)
    pending = sdk.attachments.create(filename="later.mp3", content_type="audio/mpeg", size_bytes=10).attachment_id
    theirs = upload(stranger, "theirs.mp3", "audio/mpeg", b"ID3" + b"t" * 10)
    big = host.serve("/voice/long.mp3", b"0" * (TEN_MB + 1), "audio/mpeg")
    rows: list[tuple[str, dict[str, Any], int, int]] = [
        (sms_chat, {"attachment_id": memo}, 409, 2017),
        (chat_id, {}, 400, 1001),
        (chat_id, {"attachment_id": memo, "voice_memo_url": host.url("/voice/x.mp3")}, 400, 1005),
        (chat_id, {"voice_memo_url": "http://127.0.0.1/x.mp3"}, 400, 1005),
        (chat_id, {"attachment_id": photo}, 400, 5004),
        (chat_id, {"voice_memo_url": host.url("/pics/song.flac")}, 400, 5004),
        (chat_id, {"voice_memo_url": big}, 413, 5001),
        (chat_id, {"attachment_id": UNKNOWN}, 404, 2003),
        (chat_id, {"attachment_id": theirs}, 404, 2003),
        (chat_id, {"attachment_id": pending}, 404, 2007),
        (UNKNOWN, {"attachment_id": memo}, 404, 2001),
    ]
    for target, body, status, code in rows:
        with pytest.raises(APIStatusError) as error:
            once.chats.send_voicememo(target, **body)
        assert_error(error, status, code)
    with pytest.raises(APIStatusError) as foreign_chat:
        stranger.chats.send_voicememo(chat_id, attachment_id=theirs)
    assert_error(foreign_chat, 404, 2001)
    assert (
        sdk.chats.send_voicememo(chat_with(sdk, server, new_phone(7)), attachment_id=memo).voice_memo.service == "RCS"
    )
