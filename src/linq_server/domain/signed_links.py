"""Unguessable links to attachment bytes: an expiring upload link and a stable download link.

Each is an HMAC-SHA256 keyed by the server key (``LINQ_SERVER_SECRET_KEY``), so any machine that
shares the key can check a link another machine made, and nobody without it can make one.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import UTC, datetime
from urllib.parse import parse_qs, quote, urlencode, urlsplit

from linq_server.domain.attachment_errors import AttachmentNotFound, UploadLinkRefused

UPLOAD_PATH = "/files/uploads"
DOWNLOAD_PATH = "/files/attachments"


class LinkSigner:
    def __init__(self, server_key: str) -> None:
        # A key of its own, derived from the server key, so these signatures never double as anything else.
        self._key = hmac.new(server_key.encode(), b"linq-server attachment links v1", hashlib.sha256).digest()

    def _sign(self, *fields: str) -> str:
        digest = hmac.new(self._key, "\n".join(fields).encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).decode().rstrip("=")

    def upload_url(self, base_url: str, attachment_id: str, expires_at: datetime) -> str:
        expires = str(int(expires_at.timestamp()))
        query = urlencode({"expires": expires, "signature": self._sign("upload", attachment_id, expires)})
        return f"{base_url}{UPLOAD_PATH}/{attachment_id}?{query}"

    def download_url(self, base_url: str, attachment_id: str, filename: str) -> str:
        """Stable: the same for the attachment's whole life; it stops working when the attachment is deleted."""
        signature = self._sign("download", attachment_id)
        return f"{base_url}{DOWNLOAD_PATH}/{attachment_id}/{quote(filename, safe='')}?signature={signature}"

    def check_upload(self, attachment_id: str, expires: str, signature: str, now: datetime) -> None:
        """403/2005 unless the signature is ours for this attachment and expiry, and the expiry is ahead."""
        if not expires.isdigit() or not _same(signature, self._sign("upload", attachment_id, expires)):
            raise UploadLinkRefused("Access denied - the upload URL's signature does not match")
        if datetime.fromtimestamp(int(expires), UTC) <= now:
            raise UploadLinkRefused("Access denied - the upload URL has expired; request a new one")

    def is_download_signature(self, attachment_id: str, signature: str) -> bool:
        return _same(signature, self._sign("download", attachment_id))

    def linked_attachment(self, base_url: str, url: str) -> str | None:
        """The attachment a URL downloads when it is one of this server's download links (under ``base_url``),
        else None; 404/2003 for a link into our files that we did not sign (api-core §15.5: a foreign CDN URL
        is rejected before sending)."""
        prefix = f"{base_url}{DOWNLOAD_PATH}/"
        if not url.startswith(prefix):
            return None
        attachment_id = url[len(prefix) :].split("/", 1)[0]
        signatures = parse_qs(urlsplit(url).query).get("signature", [])
        if len(signatures) != 1 or not self.is_download_signature(attachment_id, signatures[0]):
            raise AttachmentNotFound("Attachment not found: the download link is not one of this server's")
        return attachment_id


def _same(given: str, expected: str) -> bool:
    # Compared as bytes: compare_digest refuses non-ASCII text, and a forged link may carry any.
    return hmac.compare_digest(given.encode(), expected.encode())
