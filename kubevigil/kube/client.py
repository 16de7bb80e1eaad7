"""A thin async Kubernetes API client on aiohttp: kubeconfig or service account credentials, orjson-decoded dicts."""

from __future__ import annotations

import asyncio
import builtins
import contextlib
import ssl
import time
from collections.abc import AsyncGenerator, AsyncIterable, AsyncIterator, Iterator
from typing import Any, Literal

import aiohttp
import orjson
import structlog

from kubevigil.core.secrets import remember
from kubevigil.kube.auth import Credential, credential_for
from kubevigil.kube.credentials import ConfigSource, fingerprint
from kubevigil.kube.errors import ApiError, BodyTooLarge, KubeConfigError, KubeConnectError, describe, one_line
from kubevigil.kube.kubeconfig import SERVICE_ACCOUNT, ContextConfig
from kubevigil.kube.resources import Resource, by_kind

log = structlog.get_logger("kubevigil.kube")

PatchType = Literal["merge", "strategic", "json"]

PATCH_CONTENT_TYPES: dict[str, str] = {
    "merge": "application/merge-patch+json",
    "strategic": "application/strategic-merge-patch+json",
    "json": "application/json-patch+json",
}

REQUEST_TIMEOUT = 30.0
CONNECT_TIMEOUT = 10.0
# Slack over the server-side watch timeout before the client gives up on a silent stream.
WATCH_READ_SLACK = 30.0
# How often a request may stat the config's files to notice a rotated token, a new CA or a rewritten kubeconfig.
RELOAD_CHECK_INTERVAL = 1.0
# client-go's default is no limit per host; this bounds sockets (each watch holds one) without starving requests.
MAX_CONNECTIONS = 100


class _Session:
    """One HTTP session and credential built from one reading of the config; closed once replaced and unused."""

    __slots__ = ("auth", "config", "http", "proxy", "retired", "server", "users")

    def __init__(self, config: ContextConfig) -> None:
        self.config = config  # what the session was built from: its TLS settings and credentials
        self.server = config.cluster.server
        self.auth: Credential = credential_for(config.user)
        tls = config.tls_context() if self.server.startswith("https:") else False
        self.proxy = _proxy_for(self.server)
        self.http = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(ssl=tls, limit=MAX_CONNECTIONS), cookie_jar=aiohttp.DummyCookieJar(),
            timeout=aiohttp.ClientTimeout(total=REQUEST_TIMEOUT))
        self.users = 0
        self.retired = False

    async def headers(self, accept: str) -> dict[str, str]:
        headers = {"Accept": accept}
        value = await self.auth.header()
        if value is not None:
            headers["Authorization"] = value
        return headers

    def url(self, path: str) -> str:
        return self.server + path

    def server_hostname(self) -> str | None:
        return self.config.cluster.tls_server_name


class KubeApi:
    """Async verbs over one API server; objects are plain dicts decoded with orjson.

    Given the `ConfigSource` it was built from, it re-reads the config when one of its files changes on disk (a
    rotated token, a new CA, a rewritten kubeconfig) and once when the server answers 401, then retries once."""

    def __init__(self, config: ContextConfig, *, source: ConfigSource | None = None) -> None:
        self._session = _Session(config)
        self._retired: list[_Session] = []
        self.context = config.context_name
        self.server = config.cluster.server
        self.namespace = config.namespace  # the context's default namespace
        self._discovered: dict[tuple[str, str], Resource] = {}
        self._source = source
        self._files = config.files()
        self._fingerprint = fingerprint(self._files)
        self._checked_at = time.monotonic()
        self._reload_lock = asyncio.Lock()
        self.reloads = 0

    # ---- sessions and reloading

    @contextlib.asynccontextmanager
    async def _using(self) -> AsyncIterator[_Session]:
        """The current session, held for one request or stream; checks the config files first (rate-limited)."""
        if self._source is not None and time.monotonic() - self._checked_at >= RELOAD_CHECK_INTERVAL:
            await self._reload_if_changed()
        session = self._session
        session.users += 1
        try:
            yield session
        finally:
            session.users -= 1
            if session.retired and session.users == 0:
                await self._close(session)

    async def _reload_if_changed(self) -> None:
        self._checked_at = time.monotonic()
        now = fingerprint(self._files)
        if now != self._fingerprint:
            changed = [path for (path, *old), (_, *new) in zip(self._fingerprint, now, strict=True) if old != new]
            await self.reload(f"changed on disk: {', '.join(changed)}")

    async def _after_401(self, used: _Session) -> bool:
        """Whether a request answered 401 is worth one more try: the credential or config was re-read since, or now."""
        used.auth.refused()
        if self._source is None:
            return False
        if used is not self._session:
            return True
        return await self.reload("the server answered 401 Unauthorized")

    async def reload(self, why: str) -> bool:
        """Re-read the config and switch new requests to a session built from it; False if it cannot be read."""
        if self._source is None:
            return False
        async with self._reload_lock:
            before = fingerprint(self._files)
            try:
                config = self._source.load()
                session = _Session(config)
            except (KubeConnectError, KubeConfigError, OSError, ValueError) as exc:
                log.warning("cannot reload the Kubernetes config; keeping the previous one", server=self.server,
                            why=why, error=one_line(exc))
                return False
            files = config.files()
            self._fingerprint = before if files == self._files else fingerprint(files)
            self._files = files
            old, self._session = self._session, session
            old.retired = True
            if old.users == 0:
                await self._close(old)
            else:
                self._retired.append(old)
            self.context, self.server, self.namespace = config.context_name, config.cluster.server, config.namespace
            self.reloads += 1
        log.info("Kubernetes config reloaded", why=why, context=self.context, server=self.server)
        return True

    async def _close(self, session: _Session) -> None:
        with contextlib.suppress(ValueError):
            self._retired.remove(session)
        await session.http.close()

    # ---- generic request

    async def request(self, method: str, path: str, *, params: dict[str, Any] | None = None,
                      body: Any = None, content_type: str = "application/json",
                      timeout: float = REQUEST_TIMEOUT) -> Any:
        """Send one request; return the decoded JSON body, raise ApiError on a non-2xx status."""
        content = orjson.dumps(body) if body is not None else None
        limits = aiohttp.ClientTimeout(total=timeout, connect=min(timeout, CONNECT_TIMEOUT))
        for attempt in (1, 2):
            async with self._using() as session:
                headers = await session.headers("application/json")
                if content is not None:
                    headers["Content-Type"] = content_type
                async with session.http.request(method, session.url(path), params=_clean(params), data=content,
                                                headers=headers, timeout=limits, proxy=session.proxy,
                                                server_hostname=session.server_hostname()) as resp:
                    status, answer = resp.status, await resp.read()
            if status != 401 or attempt == 2 or not await self._after_401(session):
                break
        return _decode(status, answer)

    def new_tls_context(self) -> ssl.SSLContext:
        """A TLS context that trusts the API server as this client does (its CA, client certificate if any)."""
        return self._session.config.tls_context()

    async def auth_headers(self) -> dict[str, str]:
        """The Authorization header this client sends now (token, token file, exec plugin or basic auth)."""
        value = await self._session.auth.header()
        if not value:
            return {}
        remember([value, value.partition(" ")[2]])  # a probe's error text must not show the cluster's credential
        return {"Authorization": value}

    async def get_bytes(self, path: str, *, timeout: float, max_bytes: int, accept: str = "*/*") -> tuple[str, bytes]:
        """GET a body that is not a Kubernetes object (pods/proxy): (content type, bytes); ApiError on non-2xx.

        Reads at most `max_bytes` (BodyTooLarge beyond), so a misbehaving endpoint cannot fill memory.
        """
        limits = aiohttp.ClientTimeout(total=timeout, connect=min(timeout, CONNECT_TIMEOUT))
        async with self._using() as session, session.http.get(
                session.url(path), headers=await session.headers(accept), timeout=limits, proxy=session.proxy,
                server_hostname=session.server_hostname()) as resp:
            chunks: list[bytes] = []
            size = 0
            async for chunk in resp.content.iter_any():
                size += len(chunk)
                if size > max_bytes:
                    raise BodyTooLarge(f"{path}: more than {max_bytes} bytes")
                chunks.append(chunk)
            body = b"".join(chunks)
            if resp.status >= 300:
                raise ApiError.from_status(resp.status, _loads_or_raw(body))
            return resp.headers.get("content-type", ""), body

    # ---- verbs

    async def get(self, res: Resource, namespace: str | None, name: str, *, subresource: str | None = None) -> dict[str, Any]:
        return _object(await self.request("GET", res.path(namespace, name, subresource)))

    async def list(self, res: Resource, namespace: str | None = None, *, label_selector: str | None = None,
                   field_selector: str | None = None, limit: int | None = None) -> tuple[list[dict[str, Any]], str]:
        """All matching objects (following `continue` when paging) and the list's resourceVersion."""
        items: list[dict[str, Any]] = []
        rv = ""
        async for page_items, page_rv in self.list_pages(res, namespace, label_selector=label_selector,
                                                         field_selector=field_selector, limit=limit):
            items.extend(page_items)
            rv = page_rv  # the last page's version is the list's
        return items, rv

    async def list_pages(self, res: Resource, namespace: str | None = None, *, label_selector: str | None = None,
                         field_selector: str | None = None, limit: int | None = None
                         ) -> AsyncGenerator[tuple[builtins.list[dict[str, Any]], str], None]:
        """Each page of a list as (items, resourceVersion): the list's resourceVersion is the last page's.

        The next page is requested before this one is handed over, so the server prepares it while the caller
        works (client-go's pager buffers pages the same way); at most one page is in flight.
        """
        params: dict[str, Any] = {"labelSelector": label_selector, "fieldSelector": field_selector, "limit": limit}
        path = res.path(namespace)
        pending: asyncio.Future[Any] | None = asyncio.ensure_future(self.request("GET", path, params=dict(params)))
        try:
            while pending is not None:
                page = await pending
                meta = page.get("metadata") or {}
                cont = meta.get("continue")
                pending = None
                if cont:
                    pending = asyncio.ensure_future(self.request("GET", path, params={**params, "continue": cont}))
                    await asyncio.sleep(0)  # let it send the request before the caller's CPU work starts
                page_items = page.get("items") or []
                del page  # the caller may keep the items; the envelope can go before the next page arrives
                _stamp_kind(page_items, res)
                yield page_items, str(meta.get("resourceVersion") or "")
        finally:
            if pending is not None:
                pending.cancel()
                await asyncio.gather(pending, return_exceptions=True)

    async def watch(self, res: Resource, namespace: str | None = None, *, resource_version: str,
                    label_selector: str | None = None, field_selector: str | None = None, bookmarks: bool = True,
                    timeout_seconds: int = 300) -> AsyncIterator[tuple[str, dict[str, Any]]]:
        """Yield (type, object) from a watch stream; an in-stream ERROR is raised as ApiError.

        Close it with `contextlib.aclosing` when stopping early, so the connection is released at once.
        """
        batches = self.watch_batches(res, namespace, resource_version=resource_version,
                                     label_selector=label_selector, field_selector=field_selector,
                                     bookmarks=bookmarks, timeout_seconds=timeout_seconds)
        async with contextlib.aclosing(batches):
            async for batch in batches:
                for event in batch:
                    yield event

    async def watch_batches(self, res: Resource, namespace: str | None = None, *, resource_version: str,
                            label_selector: str | None = None, field_selector: str | None = None,
                            bookmarks: bool = True, timeout_seconds: int = 300
                            ) -> AsyncGenerator[Iterator[tuple[str, dict[str, Any]]], None]:
        """`watch`, in the groups the events arrived in: one async step per network read, not per event.

        Each group decodes lazily as it is iterated: consume it fully before asking for the next one. Decoding
        an event just before using it lets the allocator reuse the memory of the object it replaces. The first
        group is empty: it arrives when the server has accepted the watch.
        """
        params = _clean({"watch": "true", "resourceVersion": resource_version, "labelSelector": label_selector,
                         "fieldSelector": field_selector, "timeoutSeconds": timeout_seconds,
                         "allowWatchBookmarks": "true" if bookmarks else None})
        timeout = aiohttp.ClientTimeout(total=None, connect=CONNECT_TIMEOUT,
                                        sock_read=timeout_seconds + WATCH_READ_SLACK)
        for attempt in (1, 2):
            async with self._using() as session, session.http.get(
                    session.url(res.path(namespace)), params=params, timeout=timeout,
                    headers=await session.headers("application/json"), proxy=session.proxy,
                    server_hostname=session.server_hostname()) as resp:
                if resp.status == 401 and attempt == 1 and await self._after_401(session):
                    continue
                if resp.status >= 300:
                    raise ApiError.from_status(resp.status, _loads_or_raw(await resp.read()))
                yield iter(())  # the server accepted the watch: callers may count that as contact
                async for data, end in _whole_lines(resp.content.iter_any()):
                    yield _watch_events(data, end)
                return

    async def create(self, res: Resource, namespace: str | None, body: dict[str, Any]) -> dict[str, Any]:
        return _object(await self.request("POST", res.path(namespace), body=body))

    async def replace(self, res: Resource, namespace: str | None, name: str, body: dict[str, Any]) -> dict[str, Any]:
        return _object(await self.request("PUT", res.path(namespace, name), body=body))

    async def replace_status(self, res: Resource, namespace: str | None, name: str, body: dict[str, Any]) -> dict[str, Any]:
        return _object(await self.request("PUT", res.path(namespace, name, "status"), body=body))

    async def patch(self, res: Resource, namespace: str | None, name: str, body: Any,
                    patch_type: PatchType = "merge", subresource: str | None = None) -> dict[str, Any]:
        if patch_type not in PATCH_CONTENT_TYPES:
            raise ValueError(f"patch_type {patch_type!r} is not one of {sorted(PATCH_CONTENT_TYPES)}")
        return _object(await self.request("PATCH", res.path(namespace, name, subresource), body=body,
                                  content_type=PATCH_CONTENT_TYPES[patch_type]))

    async def delete(self, res: Resource, namespace: str | None, name: str, *,
                     propagation_policy: str | None = None, grace_period_seconds: int | None = None) -> dict[str, Any]:
        params = {"propagationPolicy": propagation_policy, "gracePeriodSeconds": grace_period_seconds}
        return _object(await self.request("DELETE", res.path(namespace, name), params=params))

    async def pod_log(self, namespace: str, name: str, *, container: str | None = None,
                      tail_lines: int | None = None, previous: bool = False) -> str:
        """A container's log as text (`pods/{name}/log` answers text/plain, not JSON)."""
        res = by_kind("Pod")
        params = _clean({"container": container, "tailLines": tail_lines, "previous": "true" if previous else None})
        limits = aiohttp.ClientTimeout(total=REQUEST_TIMEOUT, connect=CONNECT_TIMEOUT)
        async with self._using() as session, session.http.get(
                session.url(res.path(namespace, name, "log")), params=params, timeout=limits,
                headers=await session.headers("*/*"), proxy=session.proxy,
                server_hostname=session.server_hostname()) as resp:
            status, body = resp.status, await resp.read()
        if status >= 300:
            raise ApiError.from_status(status, _loads_or_raw(body))
        return body.decode(errors="replace")

    # ---- discovery

    async def resource_for(self, api_version: str, kind: str) -> Resource:
        """The Resource for apiVersion+kind: the built-in table first, then the server's discovery (CRDs)."""
        try:
            return by_kind(kind, api_version)
        except KeyError:
            pass
        key = (api_version, kind)
        if key not in self._discovered:
            self._discovered[key] = await self._discover(api_version, kind)
        return self._discovered[key]

    async def _discover(self, api_version: str, kind: str) -> Resource:
        group, _, version = api_version.rpartition("/")
        path = f"/apis/{group}/{version}" if group else f"/api/{version}"
        try:
            doc = await self.request("GET", path)
        except ApiError as exc:
            raise KeyError(f"{api_version} {kind}: discovery {path} failed: {exc}") from exc
        entries = doc.get("resources") or []
        plural = _plural_of(entries, kind)
        if not plural:
            raise KeyError(f"{api_version} {kind}: not served by {self.server} (discovery {path})")
        subs = tuple(sorted(e["name"].split("/", 1)[1] for e in entries if e.get("name", "").startswith(plural + "/")))
        e = next(e for e in entries if e.get("name") == plural)
        return Resource(group, version, kind, plural, bool(e.get("namespaced")),
                        short_names=tuple(e.get("shortNames") or ()), subresources=subs,
                        categories=tuple(e.get("categories") or ()), verbs=tuple(e.get("verbs") or ()))

    async def aclose(self) -> None:
        for session in [*self._retired, self._session]:
            await session.http.close()


async def connect(kubeconfig: str | None = None, context: str | None = None,
                  *, service_account: str = SERVICE_ACCOUNT) -> KubeApi:
    """Load config (explicit file, KUBECONFIG, in-cluster, ~/.kube/config), then prove it by two requests."""
    source = ConfigSource(kubeconfig, context, service_account)
    config = source.load()
    where = f"context {config.context_name!r}, server {config.cluster.server}"
    try:
        api = KubeApi(config, source=source)
    except (KubeConfigError, OSError, ValueError) as exc:
        raise KubeConnectError(f"cannot set up Kubernetes client ({where}): {one_line(exc)}") from exc
    try:
        await api.request("GET", "/version", timeout=CONNECT_TIMEOUT)
        # /version may be open to anonymous users; discovery needs a valid identity.
        await api.request("GET", "/api", timeout=CONNECT_TIMEOUT)
    except BaseException as exc:
        await api.aclose()
        if isinstance(exc, Exception):
            raise KubeConnectError(f"cannot connect to Kubernetes ({where}): {describe(exc)}") from exc
        raise
    return api


def _proxy_for(server: str) -> str | None:
    """HTTPS_PROXY/HTTP_PROXY for the server unless NO_PROXY exempts it, read once per session as kubectl reads it
    once per process (aiohttp's trust_env would read the environment and ~/.netrc on every request)."""
    from urllib.parse import urlsplit
    from urllib.request import getproxies, proxy_bypass

    url = urlsplit(server)
    if not url.hostname or proxy_bypass(url.netloc):
        return None
    return getproxies().get(url.scheme)


def _clean(params: dict[str, Any] | None) -> dict[str, Any] | None:
    if params is None:
        return None
    return {k: v for k, v in params.items() if v is not None}


def _loads_or_raw(content: bytes) -> Any:
    try:
        return orjson.loads(content)
    except orjson.JSONDecodeError:
        return content


def _decode(status: int, content: bytes) -> Any:
    if status >= 300:
        raise ApiError.from_status(status, _loads_or_raw(content))
    if not content:
        return {}
    try:
        return orjson.loads(content)
    except orjson.JSONDecodeError as exc:
        raise ApiError(status, "BadResponse", f"body is not JSON: {content[:200]!r}") from exc


def _stamp_kind(items: list[dict[str, Any]], res: Resource) -> None:
    # A real server omits apiVersion/kind on list items; handlers should not have to guess them.
    api_version, kind = res.api_version, res.kind
    for item in items:
        if "kind" not in item:
            item["kind"] = kind
            item["apiVersion"] = api_version


def _plural_of(entries: list[dict[str, Any]], kind: str) -> str:
    for e in entries:
        if e.get("kind") == kind and "/" not in e.get("name", ""):
            return str(e["name"])
    return ""


async def _whole_lines(chunks: AsyncIterable[bytes]) -> AsyncIterator[tuple[bytes, int]]:
    """A body's chunks as (data, end) pieces as bytes arrive: data[:end] is one or more whole lines.

    A piece is the chunk read (with the partial line left from the last one in front), not a copy of its lines.
    """
    rest = b""
    async for chunk in chunks:
        data = rest + chunk if rest else chunk
        end = data.rfind(b"\n") + 1
        rest = data[end:]
        if end:
            yield data, end
    if rest.strip():
        yield rest, len(rest)


def _json_lines(data: bytes, end: int) -> Iterator[Any]:
    """Decode each non-empty line of data[:end] (newline-delimited JSON), one at a time."""
    loads = orjson.loads
    view = memoryview(data)
    start = 0
    while start < end:
        nl = data.find(b"\n", start, end)
        if nl < 0:
            nl = end
        if nl > start:
            yield loads(view[start:nl])
        start = nl + 1


def _watch_events(data: bytes, end: int) -> Iterator[tuple[str, dict[str, Any]]]:
    """(type, object) of each watch event in data[:end]; an in-stream ERROR is raised as ApiError."""
    for event in _json_lines(data, end):
        etype = event.get("type", "")
        obj = event.get("object") or {}
        if etype == "ERROR":
            raise ApiError.from_status(int(obj.get("code") or 500), obj)
        yield etype, obj


def _object(answer: Any) -> dict[str, Any]:
    """A JSON object the API server answered (every verb but a watch answers one)."""
    if not isinstance(answer, dict):
        raise ApiError(0, "BadResponse", f"expected a JSON object from the API server, got {type(answer).__name__}")
    return answer
