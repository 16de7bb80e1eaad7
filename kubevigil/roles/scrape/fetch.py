"""Getting one pod's metrics: straight from its IP, or through the API server's pods/proxy.

Failures carry a reason from a fixed set (they become a metric label) and a detail for logs and /api/scrape.
"""

from __future__ import annotations

import asyncio
from typing import Any, Literal, Protocol

import aiohttp

from kubevigil.kube.errors import REQUEST_ERRORS, ApiError, BodyTooLarge
from kubevigil.roles.scrape.exposition import ACCEPT
from kubevigil.roles.scrape.targets import Target

Reason = Literal["timeout", "connect", "http_status", "too_large", "parse", "error"]
REASONS: tuple[Reason, ...] = ("timeout", "connect", "http_status", "too_large", "parse", "error")


class ScrapeFailed(Exception):
    def __init__(self, reason: Reason, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason: Reason = reason
        self.detail = detail


class Fetcher(Protocol):
    async def fetch(self, target: Target) -> tuple[str, bytes]:
        """(content type, body) of the target's metrics endpoint; ScrapeFailed otherwise."""

    async def aclose(self) -> None: ...


class DirectFetcher:
    """HTTP GET on the pod IP; one connection per scrape, so open sockets stay within the job's concurrency."""

    def __init__(self, port: int, path: str, *, max_bytes: int, concurrency: int) -> None:
        self.port = port
        self.path = path
        self.max_bytes = max_bytes
        self._concurrency = concurrency
        self._session: aiohttp.ClientSession | None = None

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None:
            # trust_env stays off: an HTTP(S)_PROXY meant for AWS calls must not carry pod scrapes.
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=self._concurrency, force_close=True),
                headers={"Accept": ACCEPT}, skip_auto_headers=("User-Agent",))
        return self._session

    async def fetch(self, target: Target) -> tuple[str, bytes]:
        url = target.url(self.port, self.path)
        try:
            async with self._client().get(url, allow_redirects=False) as resp:
                if resp.status != 200:
                    raise ScrapeFailed("http_status", f"HTTP {resp.status} from {url}")
                if (resp.content_length or 0) > self.max_bytes:
                    raise ScrapeFailed("too_large", f"{resp.content_length} bytes from {url}")
                body = await _read_limited(resp, self.max_bytes, url)
                return resp.headers.get("Content-Type", ""), body
        except aiohttp.ClientConnectionError as exc:
            raise ScrapeFailed("connect", f"{url}: {_one_line(exc)}") from None
        except aiohttp.ClientError as exc:
            raise ScrapeFailed("error", f"{url}: {_one_line(exc)}") from None

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None


class ProxyFetcher:
    """GET through `pods/<name>:<port>/proxy<path>` with the process's Kubernetes credentials."""

    def __init__(self, api: Any, port: int, path: str, *, max_bytes: int) -> None:
        self.api = api
        self.port = port
        self.path = path
        self.max_bytes = max_bytes

    async def fetch(self, target: Target) -> tuple[str, bytes]:
        path = target.proxy_path(self.port, self.path)
        try:
            # The caller bounds the whole scrape with asyncio.timeout; this bounds each network step as well.
            return await self.api.get_bytes(path, timeout=60.0, max_bytes=self.max_bytes, accept=ACCEPT)  # type: ignore[no-any-return]
        except ApiError as exc:
            raise ScrapeFailed("http_status", f"pods/proxy {target.namespace}/{target.name}: {exc}") from None
        except BodyTooLarge as exc:
            raise ScrapeFailed("too_large", str(exc)) from None
        except TimeoutError:
            raise ScrapeFailed("timeout", f"pods/proxy {target.namespace}/{target.name}") from None
        except REQUEST_ERRORS as exc:
            raise ScrapeFailed("connect", f"pods/proxy {target.namespace}/{target.name}: {_one_line(exc)}") from None

    async def aclose(self) -> None:
        return None


async def _read_limited(resp: aiohttp.ClientResponse, max_bytes: int, url: str) -> bytes:
    chunks: list[bytes] = []
    size = 0
    async for chunk in resp.content.iter_any():
        size += len(chunk)
        if size > max_bytes:
            raise ScrapeFailed("too_large", f"more than {max_bytes} bytes from {url}")
        chunks.append(chunk)
    return b"".join(chunks)


async def fetch_within(fetcher: Fetcher, target: Target, timeout: float) -> tuple[str, bytes]:
    """The fetch, bounded as a whole by `timeout` seconds."""
    try:
        async with asyncio.timeout(timeout):
            return await fetcher.fetch(target)
    except TimeoutError:
        raise ScrapeFailed("timeout", f"{target.namespace}/{target.name} did not answer within {timeout:g} s") from None


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split())[:200] or type(exc).__name__
