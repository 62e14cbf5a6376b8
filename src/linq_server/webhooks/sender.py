"""The HTTP client that carries webhook deliveries.

aiohttp, not httpx, on this one hot path: on this project's 2-core machine httpx's connection pool
managed 300 to 550 POSTs/s to a local receiver where aiohttp managed 4,700 to 5,700 (benchmarks/webhooks.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

# aiohttp is imported on first use, not at startup: it weighs on `serve`'s start (docs/benchmarks.md).
if TYPE_CHECKING:
    import aiohttp

TIMEOUT_SECONDS = 15.0
EXCERPT_CHARS = 500


@dataclass(frozen=True, slots=True)
class Answer:
    status_code: int
    excerpt: str
    retry_after: str | None


class DeliveryError(Exception):
    """The request got no HTTP answer: refused, reset, DNS, TLS, or timed out."""


class WebhookSender:
    def __init__(self, *, max_connections: int = 64) -> None:
        self._max_connections = max_connections
        self._session: aiohttp.ClientSession | None = None

    def _client(self) -> aiohttp.ClientSession:
        # Made on first use: an aiohttp session belongs to the running event loop.
        import aiohttp

        if self._session is None:
            self._session = aiohttp.ClientSession(
                # Bounded per target, not in all: a target that hangs must not take every other's connections.
                connector=aiohttp.TCPConnector(limit=0, limit_per_host=self._max_connections),
                timeout=aiohttp.ClientTimeout(total=TIMEOUT_SECONDS),
            )
        return self._session

    async def post(self, url: str, body: bytes, headers: dict[str, str]) -> Answer:
        import aiohttp  # already loaded by _client: a dictionary look-up

        try:
            # A redirect is not a delivery: it is reported as the 3xx it is.
            async with self._client().post(url, data=body, headers=headers, allow_redirects=False) as response:
                excerpt = (await response.content.read(EXCERPT_CHARS)).decode("utf-8", errors="replace")
                return Answer(response.status, excerpt, response.headers.get("retry-after"))
        # ValueError: a URL the client cannot use (e.g. a host that is not valid IDNA).
        except (aiohttp.ClientError, TimeoutError, ValueError) as failure:
            detail = str(failure)
            raise DeliveryError(
                f"{type(failure).__name__}: {detail}" if detail else type(failure).__name__
            ) from failure

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None
