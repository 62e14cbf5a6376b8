"""Attachments through the HTTP API in-process: the upload link, the download link, delete, every error."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from linq.types.attachment_create_response import AttachmentCreateResponse
from linq.types.attachment_retrieve_response import AttachmentRetrieveResponse

from linq_server.store.schema import attachments
from tests.api.test_errors import assert_envelope
from tests.conftest import World, make_partner

PNG = b"\x89PNG\r\n\x1a\n" + os.urandom(3000)


async def offer(world: World, **overrides: Any) -> dict[str, Any]:
    body = {"filename": "photo.png", "content_type": "image/png", "size_bytes": len(PNG), **overrides}
    response = await world.http.post("/v3/attachments", json=body)
    assert response.status_code == 200, response.text
    AttachmentCreateResponse.model_validate(response.json())
    created: dict[str, Any] = response.json()
    return created


async def put(world: World, created: dict[str, Any], content: Any = PNG, **headers: str) -> httpx.Response:
    return await world.http.put(
        created["upload_url"], content=content, headers={**created["required_headers"], **headers}
    )


async def status_of(world: World, attachment_id: str) -> str:
    async with world.services.db.read() as conn:
        status: str = (
            await conn.execute(sa.select(attachments.c.status).where(attachments.c.id == attachment_id))
        ).scalar_one()
        return status


def stored_files(world: World) -> list[Path]:
    root = Path(world.services.settings.data_dir) / "attachments"
    return [path for path in root.rglob("*") if path.is_file()]


async def test_upload_then_download_byte_for_byte(world: World) -> None:
    created = await offer(world)
    assert created["http_method"] == "PUT"
    assert created["required_headers"] == {"Content-Type": "image/png", "Content-Length": str(len(PNG))}
    assert (await put(world, created)).status_code == 200

    meta = await world.http.get(f"/v3/attachments/{created['attachment_id']}")
    retrieved = AttachmentRetrieveResponse.model_validate(meta.json())
    assert (retrieved.status, retrieved.size_bytes, retrieved.filename) == ("complete", len(PNG), "photo.png")
    assert retrieved.download_url == created["download_url"]

    # The download link needs no key: whoever holds it can fetch, as from a CDN.
    download = await world.http.get(created["download_url"], headers={"Authorization": ""})
    assert download.status_code == 200 and download.content == PNG
    assert download.headers["content-type"] == "image/png"


async def test_the_owner_downloads_without_the_signature_and_nobody_else_does(world: World) -> None:
    created = await offer(world)
    await put(world, created)
    unsigned = created["download_url"].split("?")[0]
    assert (await world.http.get(unsigned)).content == PNG
    assert_envelope(await world.http.get(unsigned, headers={"Authorization": ""}), 404, 2003)
    other = await make_partner(world.services.db)
    assert_envelope(await world.http.get(unsigned, headers={"Authorization": f"Bearer {other.api_key}"}), 404, 2003)
    forged = unsigned + "?signature=" + "A" * 43
    assert_envelope(await world.http.get(forged, headers={"Authorization": ""}), 404, 2003)


async def test_download_before_the_upload_is_404_2007(world: World) -> None:
    created = await offer(world)
    assert_envelope(await world.http.get(created["download_url"]), 404, 2007, "Attachment not ready")


async def test_delete_removes_metadata_links_and_bytes(world: World) -> None:
    created = await offer(world)
    await put(world, created)
    assert len(stored_files(world)) == 1
    deleted = await world.http.delete(f"/v3/attachments/{created['attachment_id']}")
    assert deleted.status_code == 204 and deleted.content == b""
    assert stored_files(world) == []
    assert_envelope(await world.http.get(f"/v3/attachments/{created['attachment_id']}"), 404, 2003)
    assert_envelope(await world.http.get(created["download_url"]), 404, 2003)
    assert_envelope(await put(world, created), 404, 2003)
    assert_envelope(await world.http.delete(f"/v3/attachments/{created['attachment_id']}"), 404, 2003)


async def test_another_partners_attachment_is_404_2003(world: World) -> None:
    created = await offer(world)
    other = await make_partner(world.services.db)
    headers = {"Authorization": f"Bearer {other.api_key}"}
    path = f"/v3/attachments/{created['attachment_id']}"
    assert_envelope(await world.http.get(path, headers=headers), 404, 2003, "Attachment not found")
    assert_envelope(await world.http.delete(path, headers=headers), 404, 2003, "Attachment not found")
    assert (await world.http.get(path)).status_code == 200  # still there for its owner


@pytest.mark.parametrize("method", ["GET", "DELETE"])
async def test_an_id_that_is_not_a_uuid_is_400_1005(world: World, method: str) -> None:
    assert_envelope(await world.http.request(method, "/v3/attachments/not-a-uuid"), 400, 1005)


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"content_type": "image/png", "size_bytes": 10}, 400, 1001),
        ({"filename": "a.png", "size_bytes": 10}, 400, 1001),
        ({"filename": "a.png", "content_type": "image/png"}, 400, 1001),
        ({"filename": "a.flac", "content_type": "audio/flac", "size_bytes": 10}, 400, 5004),
        ({"filename": "a.ogg", "content_type": "audio/ogg", "size_bytes": 10}, 400, 5004),
        ({"filename": "a.exe", "content_type": "application/x-msdownload", "size_bytes": 10}, 400, 5004),
        ({"filename": "a.png", "content_type": "image/png", "size_bytes": 104_857_601}, 400, 5005),
        ({"filename": "a.png", "content_type": "image/png", "size_bytes": 0}, 400, 1005),
        ({"filename": "a.png", "content_type": "image/png", "size_bytes": "10"}, 400, 1005),
        ({"filename": "", "content_type": "image/png", "size_bytes": 10}, 400, 1005),
        ({"filename": "x" * 256, "content_type": "image/png", "size_bytes": 10}, 400, 1005),
        ({"filename": "../etc/passwd", "content_type": "image/png", "size_bytes": 10}, 400, 1005),
    ],
)
async def test_create_errors(world: World, body: dict[str, Any], status: int, code: int) -> None:
    assert_envelope(await world.http.post("/v3/attachments", json=body), status, code)


async def test_the_largest_allowed_size_and_every_sdk_type_are_accepted(world: World) -> None:
    await offer(world, size_bytes=104_857_600)
    await offer(world, content_type="image/webp", filename="a.webp")
    await offer(world, content_type="Image/PNG")  # media types are case-insensitive


async def test_a_wrong_content_type_is_400_5006_and_leaves_it_pending(world: World) -> None:
    created = await offer(world)
    assert_envelope(await put(world, created, **{"Content-Type": "image/jpeg"}), 400, 5006, None)
    assert await status_of(world, created["attachment_id"]) == "pending"
    assert (await put(world, created)).status_code == 200


async def test_a_body_of_another_size_is_400_5001_and_leaves_it_pending(world: World) -> None:
    created = await offer(world)
    response = await world.http.put(created["upload_url"], content=PNG[:-1], headers={"Content-Type": "image/png"})
    assert_envelope(response, 400, 5001)
    assert await status_of(world, created["attachment_id"]) == "pending"


async def test_a_body_that_breaks_off_marks_it_failed_and_a_new_put_completes_it(world: World) -> None:
    created = await offer(world)

    async def half() -> Any:
        yield PNG[:100]

    response = await put(world, created, content=half())
    assert_envelope(response, 400, 5001)
    assert await status_of(world, created["attachment_id"]) == "failed"
    assert stored_files(world) == []
    assert (await put(world, created)).status_code == 200
    assert await status_of(world, created["attachment_id"]) == "complete"


async def test_a_complete_attachment_takes_no_second_upload(world: World) -> None:
    created = await offer(world)
    await put(world, created)
    assert_envelope(await put(world, created, content=bytes(len(PNG))), 409, 2015)
    assert (await world.http.get(created["download_url"])).content == PNG


async def test_a_forged_or_expired_upload_link_is_403(world: World) -> None:
    created = await offer(world)
    url = created["upload_url"]
    forged = url[: url.index("signature=") + len("signature=")] + "x" + url[url.index("signature=") + 11 :]
    response = await world.http.put(forged, content=PNG, headers=created["required_headers"])
    assert_envelope(response, 403, 2005)
    tampered = url.replace("expires=", "expires=9")
    assert_envelope(await world.http.put(tampered, content=PNG, headers=created["required_headers"]), 403, 2005)
    assert_envelope(
        await world.http.put(url.split("?")[0], content=PNG, headers=created["required_headers"]), 403, 2005
    )
    world.clock.advance(15 * 60 + 1)
    response = await put(world, created)
    assert_envelope(response, 403, 2005)
    assert "expired" in response.json()["error"]["message"]
    assert await status_of(world, created["attachment_id"]) == "pending"


async def test_non_ascii_signatures_are_refused_not_crashed(world: World) -> None:
    created = await offer(world)
    await put(world, created)
    url = created["download_url"].split("?")[0] + "?signature=%C3%A9"
    assert_envelope(await world.http.get(url, headers={"Authorization": ""}), 404, 2003)


async def test_attachment_routes_need_a_key(world: World) -> None:
    response = await world.http.post(
        "/v3/attachments",
        json={"filename": "a.png", "content_type": "image/png", "size_bytes": 1},
        headers={"Authorization": ""},
    )
    assert_envelope(response, 401, 2004)


async def test_bytes_that_could_not_be_removed_at_once_are_purged_by_the_job(world: World) -> None:
    created = await offer(world)
    await put(world, created)
    storage = world.services.storage
    real_delete = storage.delete
    failures = []

    async def storage_down(key: str) -> None:
        failures.append(key)
        raise OSError("storage unavailable")

    storage.delete = storage_down  # type: ignore[method-assign]
    try:
        assert (await world.http.delete(f"/v3/attachments/{created['attachment_id']}")).status_code == 204
    finally:
        storage.delete = real_delete  # type: ignore[method-assign]
    assert len(failures) == 1 and len(stored_files(world)) == 1
    assert_envelope(await world.http.get(created["download_url"]), 404, 2003)  # gone for everyone already
    await world.worker.run_until_idle()
    assert stored_files(world) == []
