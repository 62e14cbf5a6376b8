"""Reading media that a send names by URL: its declared type and its size, counted, never kept.

A media part or voice memo by ``url`` is recorded as that URL (the bytes stay where they are), but
Linq's size and type rules need the server's answer, so the body is streamed and counted up to the
limit plus one byte and dropped. Outside the sandbox no internal address is ever contacted: IP
literals are checked here, host names by the resolver the connection itself uses (so a DNS answer
cannot change between the check and the connect), and redirects are followed one hop at a time.
"""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urljoin, urlsplit

# aiohttp is imported on first use, not at startup: it weighs on `serve`'s start (docs/benchmarks.md).
if TYPE_CHECKING:
    import aiohttp

MAX_REDIRECTS = 5
_REDIRECTS = frozenset({301, 302, 303, 307, 308})


class FetchRefused(Exception):
    """The URL points at a loopback, private, link-local or otherwise internal address."""


class FetchFailed(Exception):
    """The URL could not be read: no answer, an error status, a broken body, too many redirects."""


class FetchTooLarge(Exception):
    """The body is larger than the limit asked for."""


@dataclass(frozen=True, slots=True)
class Fetched:
    size_bytes: int
    content_type: str | None


def is_internal(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    return ip.is_loopback or ip.is_private or ip.is_link_local or ip.is_unspecified or ip.is_reserved or ip.is_multicast


def _ip_literal(host: str) -> str | None:
    try:
        return str(ipaddress.ip_address(host.strip("[]")))
    except ValueError:
        return None


def _public_only_resolver() -> Any:
    """A resolver like aiohttp's default that refuses a host with any internal address (made on first use)."""
    from aiohttp.abc import AbstractResolver, ResolveResult
    from aiohttp.resolver import DefaultResolver

    class PublicOnlyResolver(AbstractResolver):
        def __init__(self) -> None:
            self._inner = DefaultResolver()

        async def resolve(
            self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
        ) -> list[ResolveResult]:
            found = await self._inner.resolve(host, port, family)
            if any(is_internal(result["host"]) for result in found):
                raise FetchRefused(f"{host} resolves to an internal address")
            return found

        async def close(self) -> None:
            await self._inner.close()

    return PublicOnlyResolver()


class MediaFetcher:
    """Counts the bytes behind public URLs (all URLs when ``allow_internal``, as in the sandbox)."""

    def __init__(self, *, allow_internal: bool) -> None:
        self.allow_internal = allow_internal
        self._session: aiohttp.ClientSession | None = None

    def _client(self) -> aiohttp.ClientSession:
        import aiohttp

        if self._session is None:
            resolver: Any = None if self.allow_internal else _public_only_resolver()
            self._session = aiohttp.ClientSession(
                timeout=aiohttp.ClientTimeout(total=30, sock_connect=10),
                connector=aiohttp.TCPConnector(resolver=resolver, limit=64),
                trust_env=False,
            )
        return self._session

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()

    async def probe(self, url: str, limit: int) -> Fetched:
        """Read ``url`` to its end (or to ``limit`` + 1 bytes): its size and declared Content-Type."""
        import aiohttp

        try:
            for _ in range(MAX_REDIRECTS + 1):
                self._check_literal(url)
                async with self._client().get(url, allow_redirects=False) as response:
                    location = response.headers.get("Location")
                    if response.status in _REDIRECTS and location:
                        url = urljoin(url, location)
                        continue
                    if response.status >= 400:
                        raise FetchFailed(f"the server answered {response.status}")
                    declared = response.content_length
                    if declared is not None and declared > limit:
                        raise FetchTooLarge()
                    size = 0
                    async for chunk in response.content.iter_chunked(64 * 1024):
                        size += len(chunk)
                        if size > limit:
                            raise FetchTooLarge()
                    return Fetched(size, response.headers.get("Content-Type"))
        except (aiohttp.ClientError, TimeoutError, ValueError) as error:
            raise FetchFailed(str(error) or type(error).__name__) from error
        raise FetchFailed(f"more than {MAX_REDIRECTS} redirects")

    def _check_literal(self, url: str) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise FetchFailed("a redirect left http(s)")
        address = _ip_literal(parts.hostname)
        if not self.allow_internal and address is not None and is_internal(address):
            raise FetchRefused(f"{parts.hostname} is an internal address")
