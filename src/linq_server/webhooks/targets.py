"""Which webhook target URLs may be used, and where they may point."""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from urllib.parse import parse_qs, urlsplit

from linq_server.webhooks.errors import WebhookTargetRefused
from linq_server.webhooks.events import CURRENT_WEBHOOK_VERSION, WEBHOOK_VERSIONS


def check_target_url(url: str) -> None:
    """An absolute http(s) URL with a host; raises ``WebhookTargetRefused`` (a 400/1005 at the API) otherwise."""
    try:
        parts = urlsplit(url)
        _ = parts.port  # raises on a malformed port
    except ValueError as error:
        raise WebhookTargetRefused("target_url must be an absolute http(s) URL") from error
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise WebhookTargetRefused("target_url must be an absolute http(s) URL")
    try:
        parts.hostname.encode("idna")
    except UnicodeError as error:
        raise WebhookTargetRefused("target_url has an invalid host name") from error
    webhook_version_of(url)


def webhook_version_of(url: str) -> str:
    """The payload version a target asks for with ``?version=``; the current one by default."""
    versions = parse_qs(urlsplit(url).query).get("version")
    if not versions:
        return CURRENT_WEBHOOK_VERSION
    if versions[-1] not in WEBHOOK_VERSIONS:
        raise WebhookTargetRefused(
            f"Unknown webhook version {versions[-1]!r}; use one of {', '.join(WEBHOOK_VERSIONS)}"
        )
    return versions[-1]


def _is_internal(address: str) -> bool:
    ip = ipaddress.ip_address(address)
    return ip.is_loopback or ip.is_private or ip.is_link_local or ip.is_unspecified or ip.is_reserved or ip.is_multicast


async def check_public_destination(url: str) -> None:
    """Production mode: refuse targets that resolve to loopback, private or link-local addresses (SSRF).

    Checked at subscription time and again before every delivery, since DNS answers can change.
    """
    host = urlsplit(url).hostname or ""
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(host, None, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as error:
        raise WebhookTargetRefused(f"target_url host {host!r} does not resolve") from error
    if any(_is_internal(str(info[4][0])) for info in infos):
        raise WebhookTargetRefused("target_url must not point to a loopback, private or link-local address")
