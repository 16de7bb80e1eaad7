"""A tiny API server for the access layer's own tests: just enough list/watch/CRUD to probe client behaviour.

It exists so kube tests can inject faults the emulator does not model (HTTP 5xx, in-stream 410 on demand, a store
restored from an older snapshot). Like kube-apiserver's watch cache it serves a watch from a resourceVersion newer
than its own by sending only later events and no bookmark at or below it — silence — unless `rv_too_large_error`
is set, when it answers as it does lists (and watches with sendInitialEvents): an in-stream ERROR with a 504
Timeout Status "Too large resource version", cause ResourceVersionTooLarge.
"""

from __future__ import annotations

import asyncio
import itertools
import uuid

import orjson
from aiohttp import web

from kubevigil.kube.resources import BUILTIN, Resource
from kubevigil.kube.selectors import parse_label_selector


def _status(code: int, reason: str, message: str) -> web.Response:
    body = {"kind": "Status", "apiVersion": "v1", "status": "Failure", "code": code, "reason": reason,
            "message": message}
    return web.Response(status=code, body=orjson.dumps(body), content_type="application/json")


class FakeApi:
    def __init__(self, token: str = "secret", history: int = 1000, bookmark_interval: float | None = None) -> None:
        self.token = token
        self.extra_tokens: set[str] = set()  # also accepted: a rotated-out token that has not expired yet
        self.history = history
        self.bookmark_interval = bookmark_interval
        self.rv_too_large_error = False
        self.rv = itertools.count(100)
        self.objects: dict[tuple[str, str, str], dict] = {}  # (plural, ns, name)
        self.events: list[tuple[int, str, str, dict]] = []  # (rv, plural, type, obj)
        self.changed = asyncio.Condition()
        self.fail_next: list[int] = []  # statuses to answer the next watch requests with
        self.seen_tokens: list[str] = []
        self.watch_requests = 0
        self.list_requests = 0
        self.generation = 0  # bumping it ends every open watch stream
        self.app = web.Application()
        self.app.router.add_route("*", "/{tail:.*}", self.handle)
        self.runner: web.AppRunner | None = None
        self.url = ""

    async def start(self, port: int = 0) -> None:
        self.runner = web.AppRunner(self.app, shutdown_timeout=0.1)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", port)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.url = f"http://127.0.0.1:{self.port}"

    async def stop(self) -> None:
        if self.runner:
            await self.runner.cleanup()

    # ---- direct store writes (what another client would do)

    async def write(self, res: Resource, obj: dict, etype: str = "") -> dict:
        meta = obj.setdefault("metadata", {})
        key = (res.plural, meta.get("namespace", ""), meta["name"])
        old = self.objects.get(key)
        meta.setdefault("uid", old["metadata"]["uid"] if old else str(uuid.uuid4()))
        rv = next(self.rv)
        meta["resourceVersion"] = str(rv)
        obj.setdefault("kind", res.kind)
        obj.setdefault("apiVersion", res.api_version)
        if etype == "DELETED":
            self.objects.pop(key, None)
        else:
            self.objects[key] = obj
        self.events.append((rv, res.plural, etype or ("MODIFIED" if old else "ADDED"), obj))
        del self.events[:-self.history]
        async with self.changed:
            self.changed.notify_all()
        return obj

    def snapshot(self) -> tuple[dict, list, int]:
        """The store as a backup would hold it."""
        rv = next(self.rv)
        return dict(self.objects), list(self.events), rv

    async def restore(self, snap: tuple[dict, list, int]) -> None:
        """Go back to a snapshot, resourceVersions included, as a cluster restored from an etcd backup does."""
        objects, events, rv = snap
        self.objects, self.events, self.rv = dict(objects), list(events), itertools.count(rv)
        await self.kick()

    @property
    def current_rv(self) -> int:
        return self.events[-1][0] if self.events else 99

    async def delete(self, res: Resource, namespace: str, name: str) -> None:
        obj = dict(self.objects[(res.plural, namespace, name)])
        obj["metadata"] = dict(obj["metadata"])
        await self.write(res, obj, "DELETED")

    # ---- HTTP

    async def handle(self, request: web.Request) -> web.StreamResponse:
        auth = request.headers.get("Authorization", "")
        self.seen_tokens.append(auth)
        if auth != f"Bearer {self.token}" and auth.removeprefix("Bearer ") not in self.extra_tokens:
            return _status(401, "Unauthorized", "Unauthorized")
        path = request.path
        if path == "/version":
            return web.json_response({"major": "1", "minor": "30", "gitVersion": "v1.30.0-fake"})
        if path == "/api":
            return web.json_response({"kind": "APIVersions", "versions": ["v1"]})
        res, ns, name = self._route(path)
        if res is None:
            return _status(404, "NotFound", f"no route {path}")
        if request.method == "GET" and name is None:
            if request.query.get("watch") in ("true", "1"):
                return await self._watch(request, res, ns)
            return self._list(request, res, ns)
        if request.method == "GET":
            obj = self.objects.get((res.plural, ns, name))
            return web.json_response(obj) if obj else _status(404, "NotFound", f"{res.plural} {name!r} not found")
        if request.method == "POST" and name is None:
            obj = orjson.loads(await request.read())
            obj["metadata"]["namespace"] = ns
            if (res.plural, ns, obj["metadata"]["name"]) in self.objects:
                return _status(409, "AlreadyExists", f"{res.plural} {obj['metadata']['name']!r} already exists")
            return web.json_response(await self.write(res, obj), status=201)
        if request.method == "PUT" and name is not None:
            obj = orjson.loads(await request.read())
            current = self.objects.get((res.plural, ns, name))
            if current is None:
                return _status(404, "NotFound", f"{res.plural} {name!r} not found")
            if obj["metadata"].get("resourceVersion") != current["metadata"]["resourceVersion"]:
                return _status(409, "Conflict", "the object has been modified")
            obj["metadata"]["uid"] = current["metadata"]["uid"]
            return web.json_response(await self.write(res, obj))
        return _status(405, "MethodNotAllowed", request.method)

    def _route(self, path: str) -> tuple[Resource | None, str, str | None]:
        parts = path.strip("/").split("/")
        parts = parts[2:] if parts[0] == "api" else parts[3:]
        ns = ""
        if parts[:1] == ["namespaces"] and len(parts) >= 3:
            ns, parts = parts[1], parts[2:]
        plural = parts[0] if parts else ""
        res = next((r for r in BUILTIN if r.plural == plural), None)
        return res, ns, parts[1] if len(parts) > 1 else None

    def _matches(self, request: web.Request, obj: dict, ns: str) -> bool:
        if ns and obj["metadata"].get("namespace") != ns:
            return False
        sel = parse_label_selector(request.query.get("labelSelector"))
        return sel.matches(obj["metadata"].get("labels") or {})

    def _list(self, request: web.Request, res: Resource, ns: str) -> web.Response:
        self.list_requests += 1
        items = [o for (p, _, _), o in self.objects.items() if p == res.plural and self._matches(request, o, ns)]
        items = [{k: v for k, v in o.items() if k not in ("kind", "apiVersion")} for o in items]
        rv = self.current_rv
        body = {"kind": f"{res.kind}List", "apiVersion": res.api_version,
                "metadata": {"resourceVersion": str(rv)}, "items": items}
        return web.Response(body=orjson.dumps(body), content_type="application/json")

    async def _watch(self, request: web.Request, res: Resource, ns: str) -> web.StreamResponse:
        self.watch_requests += 1
        if self.fail_next:
            code = self.fail_next.pop(0)
            return _status(code, "InternalError", "injected")
        since = int(request.query.get("resourceVersion") or 0)
        resp = web.StreamResponse(headers={"Content-Type": "application/json"})
        await resp.prepare(request)
        oldest = self.events[0][0] if self.events else 0
        if since and since < oldest - 1:
            status = {"kind": "Status", "code": 410, "reason": "Expired", "message": f"too old resource version: {since}"}
            await resp.write(orjson.dumps({"type": "ERROR", "object": status}) + b"\n")
            return resp
        if since > self.current_rv and self.rv_too_large_error:
            status = {"kind": "Status", "code": 504, "reason": "Timeout",
                      "message": f"Too large resource version: {since}, current: {self.current_rv}",
                      "details": {"causes": [{"reason": "ResourceVersionTooLarge",
                                              "message": "Too large resource version"}], "retryAfterSeconds": 1}}
            await resp.write(orjson.dumps({"type": "ERROR", "object": status}) + b"\n")
            return resp
        last = since
        generation = self.generation
        bookmarks = self.bookmark_interval if request.query.get("allowWatchBookmarks") == "true" else None
        while generation == self.generation:
            for rv, plural, etype, obj in list(self.events):
                if rv > last and plural == res.plural and self._matches(request, obj, ns):
                    await resp.write(orjson.dumps({"type": etype, "object": obj}) + b"\n")
                last = max(last, rv)
            async with self.changed:
                try:
                    await asyncio.wait_for(self.changed.wait_for(
                        lambda last=last: generation != self.generation  # type: ignore[misc]
                        or (bool(self.events) and self.events[-1][0] > last)), bookmarks)
                except TimeoutError:
                    if self.current_rv > since:  # never a bookmark at or below the version the watch asked for
                        bookmark = {"kind": res.kind, "apiVersion": res.api_version,
                                    "metadata": {"resourceVersion": str(self.current_rv)}}
                        await resp.write(orjson.dumps({"type": "BOOKMARK", "object": bookmark}) + b"\n")
        return resp

    async def kick(self) -> None:
        """End all open watch streams, as a restarting API server would."""
        self.generation += 1
        async with self.changed:
            self.changed.notify_all()
