"""The emulator's HTTP layer (aiohttp): discovery, CRUD, list, watch, tables, proxies, subresources, and
authentication (bearer tokens, impersonation) with RBAC authorization in front of all of it."""

from __future__ import annotations

import asyncio
import base64
import binascii
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import orjson
from aiohttp import web

from kubevigil.kube.selectors import LabelSelector
from kubevigil.sim import discovery, openapi, subresources, tables
from kubevigil.sim.auth import Authenticator
from kubevigil.sim.errors import ApiStatusError, bad_request, expired, no_such_path, qualified, too_large
from kubevigil.sim.fieldselectors import FieldSelector
from kubevigil.sim.history import WatchEvent
from kubevigil.sim.podlogs import PodLogs
from kubevigil.sim.rbac import AUTHENTICATED, SA_PREFIX, Attributes, Authorizer, User
from kubevigil.sim.requests import (
    JSON,
    Target,
    dry_run,
    error_response,
    json_response,
    parse_target,
    query_bool,
    read_body,
    request_attributes,
    wants_table,
)
from kubevigil.sim.store import Store

ProxyHandler = Callable[[web.Request], Awaitable[web.StreamResponse]]
_DEFAULT_WATCH_TIMEOUT = 1800.0
_EVENTS_PER_WRITE = 64
_LINE_HEADS = {t: b'{"type":"' + t.encode() + b'","object":' for t in ("ADDED", "MODIFIED", "DELETED")}
_UNAUTHORIZED = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                 "message": "Unauthorized", "reason": "Unauthorized", "code": 401}
_REVIEWS = frozenset({"selfsubjectaccessreviews", "selfsubjectrulesreviews", "subjectaccessreviews",
                      "localsubjectaccessreviews", "selfsubjectreviews", "tokenreviews"})
INITIAL_EVENTS_END = "k8s.io/initial-events-end"
USER = web.RequestKey("user", User)


@dataclass
class ApiSettings:
    """Per-server knobs: BOOKMARK period, proxied pods/services, the container logs, and how long a read from a
    resourceVersion the store has not reached waits before "Too large resource version" (kube-apiserver: 3 s)."""

    bookmark_interval: float = 1.0
    proxies: dict[tuple[str, str, str], ProxyHandler] = field(default_factory=dict)
    logs: PodLogs | None = None
    fresh_wait: float = 3.0


def _encode_continue(rv: int, key: tuple[str, str]) -> str:
    return base64.urlsafe_b64encode(orjson.dumps({"rv": rv, "start": list(key)})).decode()


def _decode_continue(token: str) -> tuple[int, tuple[str, str]]:
    try:
        data = orjson.loads(base64.urlsafe_b64decode(token.encode()))
        return int(data["rv"]), (str(data["start"][0]), str(data["start"][1]))
    except (binascii.Error, orjson.JSONDecodeError, KeyError, IndexError, TypeError, ValueError):
        raise bad_request(f"continue key is not valid: {token!r}") from None


def _resource_version(raw: str) -> int:
    """A resourceVersion query parameter: 0 for "" and "0" (any version), else the number; 400 if not one."""
    if raw in ("", "0"):
        return 0
    try:
        value = int(raw)
    except ValueError:
        raise bad_request(f"resourceVersion {raw!r} is not a valid resource version") from None
    if value < 0:
        raise bad_request(f"resourceVersion {raw!r} is not a valid resource version")
    return value


def _limit(raw: str) -> int:
    try:
        limit = int(raw or 0)
    except ValueError:
        raise bad_request(f"limit: Invalid value: {raw!r}: must be an integer") from None
    return max(limit, 0)


class Api:
    """Request handling over one Store; `app()` builds the aiohttp application."""

    def __init__(self, store: Store, settings: ApiSettings, authenticator: Authenticator) -> None:
        self.store = store
        self.settings = settings
        self.authenticator = authenticator
        self.authorizer = Authorizer(store)

    def app(self) -> web.Application:
        app = web.Application(middlewares=[self._auth], client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/{tail:.*}", self._dispatch)
        return app

    @web.middleware
    async def _auth(self, request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
                    ) -> web.StreamResponse:
        user = self.authenticator.authenticate(request.headers.get("Authorization"))
        if user is None:
            return json_response(_UNAUTHORIZED, 401)
        try:
            user = self._impersonated(request, user)
            self.authorizer.check(request_attributes(request, user))
            request[USER] = user
            return await handler(request)
        except ApiStatusError as e:
            return error_response(e)

    def _impersonated(self, request: web.Request, user: User) -> User:
        """Act as the Impersonate-User (and -Group) when `user` may impersonate them, as `kubectl --as` asks."""
        name = request.headers.get("Impersonate-User")
        groups = tuple(request.headers.getall("Impersonate-Group", []))
        if not name:
            if groups:
                raise bad_request("requested impersonation of groups without impersonating a user")
            return user
        if name.startswith(SA_PREFIX) and name.count(":") == 3:
            ns, sa = name[len(SA_PREFIX):].split(":")
            self.authorizer.check(Attributes(user, "impersonate", ns, "", "serviceaccounts", name=sa))
            groups = (*groups, "system:serviceaccounts", f"system:serviceaccounts:{ns}")
        else:
            self.authorizer.check(Attributes(user, "impersonate", "", "", "users", name=name))
        for group in groups:
            self.authorizer.check(Attributes(user, "impersonate", "", "", "groups", name=group))
        return User(name, tuple(dict.fromkeys((*groups, AUTHENTICATED))), request.headers.get("Impersonate-Uid", ""))

    async def _dispatch(self, request: web.Request) -> web.StreamResponse:
        parts = [p for p in request.path.split("/") if p]
        if not parts:
            return json_response({"paths": ["/api", "/api/v1", "/apis", "/openapi/v3", "/version"]})
        head = parts[0]
        if head == "version":
            return json_response(discovery.VERSION_INFO)
        if head == "openapi":
            return self._openapi(parts[1:])
        if head == "api":
            if len(parts) == 1:
                return json_response(discovery.api_versions(request.host))
            return await self._group_version(request, "", parts[1], parts[2:])
        if head == "apis":
            if len(parts) == 1:
                return json_response(discovery.api_group_list(self.store.resources()))
            if len(parts) == 2:
                return self._group(parts[1])
            return await self._group_version(request, parts[1], parts[2], parts[3:])
        if head in ("healthz", "livez", "readyz"):
            return web.Response(text="ok")
        raise no_such_path()

    def _openapi(self, parts: list[str]) -> web.Response:
        if parts[:1] != ["v3"]:
            raise no_such_path()
        if len(parts) == 1:
            return json_response(openapi.root_doc(self.store.resources()))
        rest = parts[1:]
        group, version = ("", rest[1]) if rest[0] == "api" and len(rest) == 2 else (
            (rest[1], rest[2]) if rest[0] == "apis" and len(rest) == 3 else (None, None))
        doc = None if version is None else openapi.group_version_doc(group or "", version, self.store.resources())
        if doc is None:
            raise no_such_path()
        return json_response(doc)

    def _group(self, group: str) -> web.Response:
        for entry in discovery.api_group_list(self.store.resources())["groups"]:
            if entry["name"] == group:
                return json_response({"kind": "APIGroup", "apiVersion": "v1", **entry})
        raise no_such_path()

    async def _group_version(self, request: web.Request, group: str, version: str,
                             parts: list[str]) -> web.StreamResponse:
        if not parts:
            doc = discovery.api_resource_list(group, version, self.store.resources())
            if doc is None:
                raise no_such_path()
            return json_response(doc)
        target = parse_target(self.store, group, version, parts)
        sub = target.subresource
        if sub == "proxy":
            return await self._proxy(request, target)
        if sub == "scale":
            return await subresources.scale(self.store, request, target)
        if sub == "eviction":
            return await subresources.evict(self.store, request, target)
        if sub == "log":
            return await subresources.pod_log(self.store, self.settings.logs, request, target)
        if sub == "token":
            return await subresources.token_request(self.store, self.authenticator, request, target)
        if target.res.plural in _REVIEWS:
            return await subresources.review(target.res, self.authorizer, self.authenticator, request[USER],
                                             request, target)
        method = request.method
        if target.name is None:
            if method == "GET":
                if query_bool(request, "watch"):
                    return await self._watch(request, target)
                return await self._list(request, target)
            if method == "POST":
                return await self._create(request, target)
            if method == "DELETE":
                return await self._delete_collection(request, target)
        else:
            if method == "GET":
                return self._get(request, target)
            if method == "PUT":
                return await self._replace(request, target)
            if method == "PATCH":
                return await self._patch(request, target)
            if method == "DELETE":
                return await self._delete(request, target)
        raise ApiStatusError(405, "MethodNotAllowed", f"the server does not allow this method on the requested "
                             f"resource ({method} {qualified(target.res)})")

    # --- reads ---------------------------------------------------------------------------------------------------

    def _table_or_json(self, request: web.Request, target: Target, objects: list[dict], rv: str,
                       single: dict | None = None, cont: str | None = None,
                       remaining: int | None = None) -> web.Response:
        if wants_table(request):
            return json_response(tables.table(target.res, self.store.crd_of(target.res), objects, self.store.clock.now(),
                                      request.query.get("includeObject", "PartialObjectMetadata"), rv, cont))
        res = target.res
        if single is not None:
            return web.Response(body=self.store.encoded(res, single), content_type=JSON)
        meta: dict[str, Any] = {"resourceVersion": rv}
        if cont:
            meta["continue"] = cont
        if remaining is not None:
            meta["remainingItemCount"] = remaining
        head = orjson.dumps({"kind": f"{res.kind}List", "apiVersion": res.api_version, "metadata": meta})
        # Items are joined from the JSON each object got at commit instead of serialised again per request.
        body = b"".join((head[:-1], b',"items":[', b",".join(self.store.encoded(res, o) for o in objects), b"]}"))
        return web.Response(body=body, content_type=JSON)

    def _get(self, request: web.Request, target: Target) -> web.Response:
        obj = self.store.get_raw(target.res, target.namespace, target.name or "")
        return self._table_or_json(request, target, [obj], obj["metadata"]["resourceVersion"], single=obj)

    async def _wait_fresh(self, rv: int) -> bool:
        """Wait (at most `fresh_wait`) until the store reaches resourceVersion `rv`, as the watch cache does."""
        store = self.store
        if store.resource_version >= rv:
            return True
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.settings.fresh_wait
        wake = asyncio.Event()
        unsubscribe = store.add_waker(wake.set)
        try:
            while store.resource_version < rv and (left := deadline - loop.time()) > 0:
                wake.clear()
                try:
                    await asyncio.wait_for(wake.wait(), timeout=left)
                except TimeoutError:
                    pass
        finally:
            unsubscribe()
        return store.resource_version >= rv

    async def _list(self, request: web.Request, target: Target) -> web.Response:
        q = request.query
        requested = _resource_version(q.get("resourceVersion", ""))
        if requested and not q.get("continue") and not await self._wait_fresh(requested):
            raise too_large(requested, self.store.resource_version)
        rv = self.store.resource_version
        start = None
        if token := q.get("continue"):
            rv, start = _decode_continue(token)
            if rv < self.store.oldest_resource_version():
                raise ApiStatusError(410, "Expired", "The provided continue parameter is too old to display a "
                                     "consistent list result. You can start a new list without the continue parameter.")
        limit = _limit(q.get("limit", ""))
        page = self.store.list_page(target.res, target.namespace, label_selector=q.get("labelSelector"),
                                    field_selector=q.get("fieldSelector"), after=start, limit=limit)
        cont = None
        if page.more:
            last = page.items[-1]["metadata"]
            cont = _encode_continue(rv, (last.get("namespace", ""), last["name"]))
        return self._table_or_json(request, target, page.items, str(rv), cont=cont, remaining=page.remaining)

    # --- writes --------------------------------------------------------------------------------------------------

    def _check_namespace(self, target: Target, obj: Any) -> None:
        if not isinstance(obj, dict):
            raise bad_request(f"the body of a {target.res.kind} must be a JSON object")
        meta = obj.setdefault("metadata", {})
        if target.res.namespaced:
            ns = meta.get("namespace")
            if ns and target.namespace and ns != target.namespace:
                raise bad_request("the namespace of the provided object does not match the namespace sent on "
                                  "the request")
            meta["namespace"] = target.namespace or ns or "default"
        if target.name and meta.get("name") and meta["name"] != target.name:
            raise bad_request("the name of the object does not match the name on the URL")
        if target.name:
            meta["name"] = target.name

    async def _create(self, request: web.Request, target: Target) -> web.Response:
        obj = await read_body(request)
        self._check_namespace(target, obj)
        created = self.store.create(target.res, obj, dry_run=dry_run(request))
        return json_response(created, 201)

    async def _replace(self, request: web.Request, target: Target) -> web.Response:
        obj = await read_body(request)
        self._check_namespace(target, obj)
        dry = dry_run(request)
        if target.subresource == "status":
            return json_response(self.store.replace_status(target.res, obj, dry_run=dry))
        return json_response(self.store.replace(target.res, obj, dry_run=dry))

    async def _patch(self, request: web.Request, target: Target) -> web.Response:
        patch_type = request.content_type
        raw = await request.read()
        if patch_type.startswith("application/apply-patch"):
            body: Any = raw
        else:
            try:
                body = orjson.loads(raw)
            except orjson.JSONDecodeError as e:
                raise bad_request(f"the patch is not valid JSON: {e}") from None
        return json_response(self.store.patch_raw(target.res, target.namespace, target.name or "", patch_type, body,
                                      subresource=target.subresource, dry_run=dry_run(request)))

    async def _delete_options(self, request: web.Request) -> tuple[str, bool]:
        opts = await read_body(request) if request.can_read_body else {}
        if not isinstance(opts, dict):
            raise bad_request("the body of a DELETE must be a DeleteOptions object")
        propagation = request.query.get("propagationPolicy") or opts.get("propagationPolicy") or "Background"
        if opts.get("orphanDependents") is True:
            propagation = "Orphan"
        dry = dry_run(request) or "All" in (opts.get("dryRun") or [])
        return propagation, dry

    async def _delete(self, request: web.Request, target: Target) -> web.Response:
        propagation, dry = await self._delete_options(request)
        obj = self.store.delete(target.res, target.namespace, target.name or "", dry_run=dry, propagation=propagation)
        return json_response(obj)

    async def _delete_collection(self, request: web.Request, target: Target) -> web.Response:
        propagation, dry = await self._delete_options(request)
        q = request.query
        items = self.store.list_raw(target.res, target.namespace, label_selector=q.get("labelSelector"),
                                    field_selector=q.get("fieldSelector"))
        deleted = [self.store.delete(target.res, o["metadata"].get("namespace"), o["metadata"]["name"],
                                     dry_run=dry, propagation=propagation) for o in items]
        res = target.res
        return json_response({"kind": f"{res.kind}List", "apiVersion": res.api_version,
                      "metadata": {"resourceVersion": str(self.store.resource_version)}, "items": deleted})

    # --- proxy ---------------------------------------------------------------------------------------------------

    async def _proxy(self, request: web.Request, target: Target) -> web.StreamResponse:
        name = (target.name or "").split(":")[0]
        self.store.get_raw(target.res, target.namespace, name)
        handler = self.settings.proxies.get((target.res.kind, target.namespace or "", name))
        if handler is None:
            raise ApiStatusError(503, "ServiceUnavailable", f'no endpoints available for {target.res.plural} "{name}"')
        # Hand the handler a request whose path is the proxied one, as the real API server forwards it.
        forwarded = request.clone(rel_url=request.rel_url.with_path("/" + target.rest)
                                  .with_query(request.rel_url.query))
        return await handler(forwarded)

    # --- watch ---------------------------------------------------------------------------------------------------

    async def _watch(self, request: web.Request, target: Target) -> web.StreamResponse:
        q = request.query
        store = self.store
        labels, fields = store.selectors(target.res, q.get("labelSelector"), q.get("fieldSelector"))
        requested = _resource_version(q.get("resourceVersion", ""))
        stream_list = query_bool(request, "sendInitialEvents")
        if requested and not await self._wait_fresh(requested):
            # Past authorization and with a parsable resourceVersion, the watch cache reports errors in-stream.
            session = _WatchSession(self, request, target, labels, fields, store.resource_version)
            return await session.fail(too_large(requested, store.resource_version))
        initial: list[dict] = []
        if stream_list or not requested:
            initial = store.list_raw(target.res, target.namespace, label_selector=q.get("labelSelector"),
                                     field_selector=q.get("fieldSelector"))
            cursor = store.resource_version
        else:
            cursor = requested
            if cursor < store.oldest_resource_version():
                raise expired(cursor, store.oldest_resource_version())
        session = _WatchSession(self, request, target, labels, fields, cursor)
        return await session.run(initial, initial_events_end=stream_list)


class _WatchSession:
    """One watch stream: replays the history window from a resourceVersion, then follows live writes."""

    def __init__(self, api: Api, request: web.Request, target: Target, labels: LabelSelector,
                 fields: FieldSelector, cursor: int) -> None:
        self.api, self.store, self.request, self.target = api, api.store, request, target
        self.labels, self.fields, self.cursor = labels, fields, cursor
        self.key = (target.res.group, target.res.plural)
        self.table = wants_table(request)
        self.bookmarks = query_bool(request, "allowWatchBookmarks")
        self.unfiltered = labels.empty and fields.empty

    def _matches(self, obj: dict | None) -> bool:
        if obj is None:
            return False
        meta = obj["metadata"]
        if self.target.namespace and meta.get("namespace") != self.target.namespace:
            return False
        if self.unfiltered:
            return True
        return (self.labels.empty or self.labels.matches(meta.get("labels"))) and (
            self.fields.empty or self.fields.matches(obj))

    def _add_line(self, out: list[bytes], etype: str, obj: dict, encoded: bytes | None = None) -> None:
        """Append the parts of one watch line to `out`; `encoded` is obj's JSON when the caller has it."""
        res = self.target.res
        if self.table:
            payload = tables.table(res, self.store.crd_of(res), [obj], self.store.clock.now(),
                                   self.request.query.get("includeObject", "PartialObjectMetadata"),
                                   obj["metadata"]["resourceVersion"])
            out.append(orjson.dumps({"type": etype, "object": payload}) + b"\n")
            return
        if obj.get("apiVersion") != res.api_version:
            encoded = orjson.dumps({**obj, "apiVersion": res.api_version})
        out.append(_LINE_HEADS[etype])
        out.append(encoded if encoded is not None else orjson.dumps(obj))
        out.append(b"}\n")

    def _add_event(self, out: list[bytes], ev: WatchEvent) -> None:
        if ev.key != self.key:
            return
        if ev.type == "ADDED":
            if self._matches(ev.obj):
                self._add_line(out, "ADDED", ev.obj, ev.encoded)
        elif ev.type == "DELETED":
            if self._matches(ev.prev or ev.obj):
                self._add_line(out, "DELETED", ev.obj, ev.encoded)
        else:
            now_in, was_in = self._matches(ev.obj), self._matches(ev.prev)
            if now_in:
                self._add_line(out, "MODIFIED" if was_in else "ADDED", ev.obj, ev.encoded)
            elif was_in:
                self._add_line(out, "DELETED", ev.obj, ev.encoded)

    def _bookmark(self, initial_events_end: bool = False) -> bytes:
        res = self.target.res
        meta: dict[str, Any] = {"resourceVersion": str(self.cursor)}
        if initial_events_end:
            meta["annotations"] = {INITIAL_EVENTS_END: "true"}
        obj = {"kind": res.kind, "apiVersion": res.api_version, "metadata": meta}
        return orjson.dumps({"type": "BOOKMARK", "object": obj}) + b"\n"

    async def fail(self, error: ApiStatusError) -> web.StreamResponse:
        """A watch that ends at once with one ERROR event (the watch cache's newErrWatcher)."""
        resp = web.StreamResponse(headers={"Content-Type": JSON, "Cache-Control": "no-cache"})
        resp.enable_chunked_encoding()
        try:
            await resp.prepare(self.request)
            await resp.write(orjson.dumps({"type": "ERROR", "object": error.status()}) + b"\n")
            await resp.write_eof()
        except ConnectionResetError:
            pass
        return resp

    async def run(self, initial: list[dict], initial_events_end: bool = False) -> web.StreamResponse:
        loop = asyncio.get_running_loop()
        timeout = float(self.request.query.get("timeoutSeconds") or _DEFAULT_WATCH_TIMEOUT)
        deadline = loop.time() + timeout
        interval = self.api.settings.bookmark_interval
        next_bookmark = loop.time() + interval
        wake = asyncio.Event()
        unsubscribe = self.store.add_waker(wake.set)
        resp = web.StreamResponse(headers={"Content-Type": JSON, "Cache-Control": "no-cache"})
        resp.enable_chunked_encoding()
        try:
            await resp.prepare(self.request)  # inside: the client may already be gone (a cancelled informer)
            for i in range(0, len(initial), _EVENTS_PER_WRITE):
                lines: list[bytes] = []
                for obj in initial[i:i + _EVENTS_PER_WRITE]:
                    self._add_line(lines, "ADDED", obj, self.store.encoded(self.target.res, obj))
                await resp.write(b"".join(lines))
            if initial_events_end:
                # WatchList: the initial state ends with a bookmark so the client knows its cache is complete.
                await resp.write(self._bookmark(initial_events_end=True))
            while True:
                wake.clear()
                try:
                    events = self.store.events_after(self.cursor)
                except ApiStatusError as e:
                    # The watcher fell behind the history window: tell it in-stream, as the API server does.
                    await resp.write(orjson.dumps({"type": "ERROR", "object": e.status()}) + b"\n")
                    break
                # What is queued for this watcher goes out in few large chunks, not one write per event; the cap
                # keeps each joined chunk small enough to stay in the CPU cache while it is copied.
                for i in range(0, len(events), _EVENTS_PER_WRITE):
                    parts: list[bytes] = []
                    for ev in events[i:i + _EVENTS_PER_WRITE]:
                        self._add_event(parts, ev)
                    if parts:
                        await resp.write(b"".join(parts))
                if events:
                    self.cursor = events[-1].rv
                now = loop.time()
                if now >= deadline:
                    break
                if self.bookmarks and now >= next_bookmark:
                    await resp.write(self._bookmark())
                    next_bookmark = now + interval
                if self.store.resource_version > self.cursor:
                    continue
                wait = deadline - now
                if self.bookmarks:
                    wait = min(wait, next_bookmark - now)
                try:
                    await asyncio.wait_for(wake.wait(), timeout=max(0.0, wait))
                except TimeoutError:
                    pass
        except ConnectionResetError:
            return resp  # the client went away; nothing left to tell it
        finally:
            unsubscribe()
        await resp.write_eof()
        return resp
