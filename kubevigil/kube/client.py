"""A thin async Kubernetes API client: lightkube's config/auth machinery, orjson-decoded plain dicts."""

from __future__ import annotations

import asyncio
import builtins
import contextlib
import os
import ssl
from collections.abc import AsyncGenerator, AsyncIterator, Iterator
from pathlib import Path
from typing import Any, Literal

import httpx2 as httpx
import orjson
from httpcore2._async.http11 import AsyncHTTP11Connection
from lightkube.config.client_adapter import AsyncClient, ConnectionParams
from lightkube.config.kubeconfig import SERVICE_ACCOUNT, KubeConfig, SingleConfig
from lightkube.config.models import UserExec
from lightkube.core.exceptions import ConfigError

from kubevigil.kube.errors import ApiError, KubeConnectError
from kubevigil.kube.resources import Resource, by_kind

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
DEFAULT_KUBECONFIG = "~/.kube/config"

# httpcore reads a response 64 KiB at a time, and every read costs an anyio timeout scope and an event loop turn
# (~130 us): at 6 KB per watch event that was a third of the informer's CPU. Reads return what the socket already
# holds (asyncio hands over up to 256 KiB at once), so a larger ceiling only means fewer, fuller reads.
AsyncHTTP11Connection.READ_NUM_BYTES = 1024 * 1024


class KubeApi:
    """Async verbs over one API server; objects are plain dicts decoded with orjson."""

    def __init__(self, http: httpx.AsyncClient, *, context: str = "default", server: str = "",
                 namespace: str = "default") -> None:
        self._http = http
        self.context = context
        self.server = server or str(http.base_url)
        self.namespace = namespace  # the context's default namespace
        self._discovered: dict[tuple[str, str], Resource] = {}

    # ---- generic request

    async def request(self, method: str, path: str, *, params: dict[str, Any] | None = None,
                      body: Any = None, content_type: str = "application/json",
                      timeout: float = REQUEST_TIMEOUT) -> Any:
        """Send one request; return the decoded JSON body, raise ApiError on a non-2xx status."""
        headers = {"Accept": "application/json"}
        content = None
        if body is not None:
            content = orjson.dumps(body)
            headers["Content-Type"] = content_type
        resp = await self._http.request(method, path, params=_clean(params), content=content, headers=headers,
                                        timeout=httpx.Timeout(timeout, connect=min(timeout, CONNECT_TIMEOUT)))
        return _decode(resp.status_code, resp.content)

    # ---- verbs

    async def get(self, res: Resource, namespace: str | None, name: str, *, subresource: str | None = None) -> dict:
        return await self.request("GET", res.path(namespace, name, subresource))

    async def list(self, res: Resource, namespace: str | None = None, *, label_selector: str | None = None,
                   field_selector: str | None = None, limit: int | None = None) -> tuple[list[dict], str]:
        """All matching objects (following `continue` when paging) and the list's resourceVersion."""
        items: list[dict] = []
        rv = ""
        async for page_items, rv in self.list_pages(res, namespace, label_selector=label_selector,
                                                    field_selector=field_selector, limit=limit):
            items.extend(page_items)
        return items, rv

    async def list_pages(self, res: Resource, namespace: str | None = None, *, label_selector: str | None = None,
                         field_selector: str | None = None, limit: int | None = None
                         ) -> AsyncGenerator[tuple[builtins.list[dict], str], None]:
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
                    timeout_seconds: int = 300) -> AsyncIterator[tuple[str, dict]]:
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
                            ) -> AsyncGenerator[Iterator[tuple[str, dict]], None]:
        """`watch`, in the groups the events arrived in: one async step per network read, not per event.

        Each group decodes lazily as it is iterated: consume it fully before asking for the next one. Decoding
        an event just before using it lets the allocator reuse the memory of the object it replaces.
        """
        params = _clean({"watch": "true", "resourceVersion": resource_version, "labelSelector": label_selector,
                         "fieldSelector": field_selector, "timeoutSeconds": timeout_seconds,
                         "allowWatchBookmarks": "true" if bookmarks else None})
        timeout = httpx.Timeout(CONNECT_TIMEOUT, read=timeout_seconds + WATCH_READ_SLACK)
        async with self._http.stream("GET", res.path(namespace), params=params, timeout=timeout,
                                     headers={"Accept": "application/json"}) as resp:
            if resp.status_code >= 300:
                raise ApiError.from_status(resp.status_code, _loads_or_raw(await resp.aread()))
            async for data, end in _whole_lines(resp):
                yield _watch_events(data, end)

    async def create(self, res: Resource, namespace: str | None, body: dict) -> dict:
        return await self.request("POST", res.path(namespace), body=body)

    async def replace(self, res: Resource, namespace: str | None, name: str, body: dict) -> dict:
        return await self.request("PUT", res.path(namespace, name), body=body)

    async def replace_status(self, res: Resource, namespace: str | None, name: str, body: dict) -> dict:
        return await self.request("PUT", res.path(namespace, name, "status"), body=body)

    async def patch(self, res: Resource, namespace: str | None, name: str, body: Any,
                    patch_type: PatchType = "merge", subresource: str | None = None) -> dict:
        if patch_type not in PATCH_CONTENT_TYPES:
            raise ValueError(f"patch_type {patch_type!r} is not one of {sorted(PATCH_CONTENT_TYPES)}")
        return await self.request("PATCH", res.path(namespace, name, subresource), body=body,
                                  content_type=PATCH_CONTENT_TYPES[patch_type])

    async def delete(self, res: Resource, namespace: str | None, name: str, *,
                     propagation_policy: str | None = None, grace_period_seconds: int | None = None) -> dict:
        params = {"propagationPolicy": propagation_policy, "gracePeriodSeconds": grace_period_seconds}
        return await self.request("DELETE", res.path(namespace, name), params=params)

    async def pod_log(self, namespace: str, name: str, *, container: str | None = None,
                      tail_lines: int | None = None, previous: bool = False) -> str:
        """A container's log as text (`pods/{name}/log` answers text/plain, not JSON)."""
        res = by_kind("Pod")
        params = _clean({"container": container, "tailLines": tail_lines, "previous": "true" if previous else None})
        resp = await self._http.request("GET", res.path(namespace, name, "log"), params=params,
                                        timeout=httpx.Timeout(REQUEST_TIMEOUT, connect=CONNECT_TIMEOUT))
        if resp.status_code >= 300:
            raise ApiError.from_status(resp.status_code, _loads_or_raw(resp.content))
        return resp.content.decode(errors="replace")

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
        await self._http.aclose()


async def connect(kubeconfig: str | None = None, context: str | None = None,
                  *, service_account: str = SERVICE_ACCOUNT) -> KubeApi:
    """Load config (explicit file, KUBECONFIG, in-cluster, ~/.kube/config), then prove it by two requests."""
    config = _load_config(kubeconfig, context, service_account)
    where = f"context {config.context_name!r}, server {config.cluster.server}"
    try:
        http = AsyncClient(config, ConnectionParams(timeout=httpx.Timeout(REQUEST_TIMEOUT, connect=CONNECT_TIMEOUT)))
    except (ConfigError, OSError, ValueError) as exc:
        raise KubeConnectError(f"cannot set up Kubernetes client ({where}): {_one_line(exc)}") from exc
    api = KubeApi(http, context=config.context_name, server=config.cluster.server, namespace=config.namespace)
    try:
        await api.request("GET", "/version", timeout=CONNECT_TIMEOUT)
        # /version may be open to anonymous users; discovery needs a valid identity.
        await api.request("GET", "/api", timeout=CONNECT_TIMEOUT)
    except BaseException as exc:
        await api.aclose()
        if isinstance(exc, Exception):
            raise KubeConnectError(f"cannot connect to Kubernetes ({where}): {_reason(exc)}") from exc
        raise
    return api


def _load_config(kubeconfig: str | None, context: str | None, service_account: str) -> SingleConfig:
    try:
        config = _find_kubeconfig(kubeconfig, service_account).get(context)
    except ConfigError as exc:
        raise KubeConnectError(f"cannot load Kubernetes config (context {context or 'current'}): {exc}") from exc
    except (KeyError, TypeError, ValueError, OSError) as exc:
        raise KubeConnectError(f"cannot load Kubernetes config (context {context or 'current'}): "
                               f"malformed kubeconfig: {_one_line(exc)}") from exc
    assert config is not None
    if config.user is not None and config.user.exec is not None:
        _accept_exec_v1(config.user.exec)
    return config


def _find_kubeconfig(kubeconfig: str | None, service_account: str) -> KubeConfig:
    if kubeconfig:
        return KubeConfig.from_file(kubeconfig)
    env = os.environ.get("KUBECONFIG", "")
    candidates = [p for p in env.split(os.pathsep) if p]
    for path in candidates:
        if Path(path).expanduser().is_file():
            return KubeConfig.from_file(path)
    if candidates:
        raise ConfigError(f"no file of KUBECONFIG={env} exists")
    if os.environ.get("KUBERNETES_SERVICE_HOST") and Path(service_account, "token").is_file():
        return KubeConfig.from_service_account(service_account)
    if Path(DEFAULT_KUBECONFIG).expanduser().is_file():
        return KubeConfig.from_file(DEFAULT_KUBECONFIG)
    raise ConfigError(f"no config found: no --kubeconfig, no KUBECONFIG, not in a cluster ({service_account}), "
                      f"no {DEFAULT_KUBECONFIG}")


def _accept_exec_v1(exec_: UserExec) -> None:
    # lightkube only knows v1alpha1/v1beta1; the v1 ExecCredential it reads (status.token) is identical.
    if exec_.apiVersion == "client.authentication.k8s.io/v1":
        exec_.apiVersion = "client.authentication.k8s.io/v1beta1"


def _reason(exc: Exception) -> str:
    if isinstance(exc, ApiError):
        return f"{exc.status} {exc.reason or 'error'}: {exc.message}".rstrip(": ")
    if isinstance(exc, ConfigError) and str(exc).startswith("Exec "):
        head, _, stderr = str(exc).partition(": ")
        last = [ln for ln in stderr.splitlines() if ln.strip()]
        return f"exec plugin failed ({head[5:]}): {last[-1].strip() if last else 'no stderr'}"
    if isinstance(exc, FileNotFoundError):
        return f"exec plugin not found: {exc.filename or exc}"
    if isinstance(exc, httpx.ConnectError):
        return f"cannot connect: {_one_line(_innermost(exc))}"
    if isinstance(exc, httpx.TimeoutException):
        return f"timed out: {type(exc).__name__}"
    return f"{type(exc).__name__}: {_one_line(exc)}"


def _innermost(exc: BaseException) -> BaseException:
    """The deepest cause: httpx says "All connection attempts failed", the OSError below says why."""
    seen = {id(exc)}
    while (nxt := exc.__cause__ or exc.__context__) is not None and id(nxt) not in seen:
        seen.add(id(nxt))
        exc = nxt
    if isinstance(exc, OSError) and exc.errno and not isinstance(exc, ssl.SSLError):
        return OSError(os.strerror(exc.errno))
    return exc


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return text or type(exc).__name__


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


def _stamp_kind(items: list[dict], res: Resource) -> None:
    # A real server omits apiVersion/kind on list items; handlers should not have to guess them.
    api_version, kind = res.api_version, res.kind
    for item in items:
        if "kind" not in item:
            item["kind"] = kind
            item["apiVersion"] = api_version


def _plural_of(entries: list[dict], kind: str) -> str:
    for e in entries:
        if e.get("kind") == kind and "/" not in e.get("name", ""):
            return str(e["name"])
    return ""


async def _whole_lines(resp: httpx.Response) -> AsyncIterator[tuple[bytes, int]]:
    """The body as (data, end) pieces as bytes arrive: data[:end] is one or more whole lines.

    A piece is the chunk read (with the partial line left from the last one in front), not a copy of its lines.
    """
    rest = b""
    async for chunk in resp.aiter_bytes():
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


def _watch_events(data: bytes, end: int) -> Iterator[tuple[str, dict]]:
    """(type, object) of each watch event in data[:end]; an in-stream ERROR is raised as ApiError."""
    for event in _json_lines(data, end):
        etype = event.get("type", "")
        obj = event.get("object") or {}
        if etype == "ERROR":
            raise ApiError.from_status(int(obj.get("code") or 500), obj)
        yield etype, obj
