"""A small fake OpenSearch/Elasticsearch server: `_bulk`, `_doc`, `_search`, `_count`, with fault injection.

It runs in its own thread and event loop so sync tests, async tests and benchmarks can all use it, and it is
driven through the real client libraries (opensearch-py, elasticsearch), which check what it answers.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from aiohttp import web

Flavor = Literal["opensearch", "elasticsearch"]
ItemFault = Callable[[str, str, dict[str, Any]], tuple[int, str] | None]  # (index, id, doc) -> (status, error type)


@dataclass
class SearchState:
    """What the fake holds and how it misbehaves; tests change the fault fields while it runs."""

    docs: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)  # index -> id -> source
    bulk_requests: int = 0
    writes: int = 0  # documents written, overwrites included: equal to count() when nothing arrived twice
    auth_headers: list[str] = field(default_factory=list)
    request_headers: list[dict[str, str]] = field(default_factory=list)
    down: bool = False  # answer 503 to everything
    item_fault: ItemFault | None = None

    def count(self, index: str | None = None) -> int:
        if index is None:
            return sum(len(d) for d in self.docs.values())
        return len(self.docs.get(index, {}))

    def all_ids(self) -> list[str]:
        return [i for d in self.docs.values() for i in d]


class FakeSearchServer:
    def __init__(self, flavor: Flavor = "opensearch", host: str = "127.0.0.1") -> None:
        self.flavor = flavor
        self.host = host
        self.port = 0
        self.state = SearchState()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._runner: web.AppRunner | None = None
        self._ready = threading.Event()

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self, port: int = 0) -> FakeSearchServer:
        self.port = port
        self._thread = threading.Thread(target=self._serve, name=f"fake-{self.flavor}", daemon=True)
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("fake search server did not start")
        return self

    def stop(self) -> None:
        if self._loop and self._runner:
            asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop).result(10)
            self._loop.call_soon_threadsafe(self._loop.stop)
        if self._thread:
            self._thread.join(10)
        self._ready.clear()

    def __enter__(self) -> FakeSearchServer:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()

    def _serve(self) -> None:
        self._loop = asyncio.new_event_loop()
        asyncio.set_event_loop(self._loop)
        self._loop.run_until_complete(self._start())
        self._ready.set()
        self._loop.run_forever()
        self._loop.close()

    async def _start(self) -> None:
        app = web.Application(middlewares=[self._middleware], client_max_size=64 * 1024 * 1024)
        app.add_routes([
            web.get("/", self._info),
            web.post("/_bulk", self._bulk), web.put("/_bulk", self._bulk),
            web.post("/{index}/_bulk", self._bulk), web.put("/{index}/_bulk", self._bulk),
            web.put("/{index}/_doc/{id}", self._put_doc), web.post("/{index}/_doc/{id}", self._put_doc),
            web.get("/{index}/_doc/{id}", self._get_doc),
            web.get("/{index}/_search", self._search), web.post("/{index}/_search", self._search),
            web.get("/{index}/_count", self._count), web.post("/{index}/_count", self._count),
            web.post("/{index}/_refresh", self._refresh), web.post("/_refresh", self._refresh),
        ])
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]

    def _json(self, body: Any, status: int = 200) -> web.Response:
        headers = {"X-Elastic-Product": "Elasticsearch"} if self.flavor == "elasticsearch" else {}
        ctype = "application/vnd.elasticsearch+json" if self.flavor == "elasticsearch" else "application/json"
        return web.Response(body=json.dumps(body).encode(), status=status, headers={**headers, "Content-Type": ctype})

    @web.middleware
    async def _middleware(self, request: web.Request, handler: Callable[[web.Request], Any]) -> web.StreamResponse:
        self.state.request_headers.append(dict(request.headers))
        if "Authorization" in request.headers:
            self.state.auth_headers.append(request.headers["Authorization"])
        if self.state.down:
            return self._json({"error": {"type": "unavailable", "reason": "fake outage"}, "status": 503}, 503)
        return await handler(request)

    async def _info(self, _: web.Request) -> web.Response:
        if self.flavor == "elasticsearch":
            version = {"number": "9.1.0", "build_flavor": "default", "lucene_version": "10.2.2"}
        else:
            version = {"distribution": "opensearch", "number": "2.19.0", "lucene_version": "9.12.1"}
        return self._json({"name": "fake", "cluster_name": "fake", "version": version, "tagline": "You Know, for Search"})

    async def _bulk(self, request: web.Request) -> web.Response:
        self.state.bulk_requests += 1
        lines = [line for line in (await request.read()).split(b"\n") if line.strip()]
        default_index = request.match_info.get("index")
        items, errors, i = [], False, 0
        while i < len(lines):
            action = json.loads(lines[i])
            (op, meta), = action.items()
            source = json.loads(lines[i + 1]) if op != "delete" else {}
            i += 1 if op == "delete" else 2
            item = self._apply(op, meta.get("_index", default_index), meta.get("_id"), source)
            errors = errors or "error" in item
            items.append({op: item})
        return self._json({"took": 1, "errors": errors, "items": items})

    def _apply(self, op: str, index: str, doc_id: str | None, source: dict[str, Any]) -> dict[str, Any]:
        doc_id = doc_id or f"auto-{self.state.count() + 1}"
        fault = self.state.item_fault(index, doc_id, source) if self.state.item_fault else None
        if fault:
            status, kind = fault
            return {"_index": index, "_id": doc_id, "status": status, "error": {"type": kind, "reason": f"injected {kind}"}}
        docs = self.state.docs.setdefault(index, {})
        if op == "create" and doc_id in docs:
            return {"_index": index, "_id": doc_id, "status": 409,
                    "error": {"type": "version_conflict_engine_exception", "reason": "document already exists"}}
        if op == "delete":
            existed = docs.pop(doc_id, None) is not None
            return {"_index": index, "_id": doc_id, "status": 200 if existed else 404, "result": "deleted" if existed else "not_found"}
        created = doc_id not in docs
        self.state.writes += 1
        docs[doc_id] = source.get("doc", source) if op == "update" else source
        return {"_index": index, "_id": doc_id, "_version": 1, "status": 201 if created else 200,
                "result": "created" if created else "updated"}

    async def _put_doc(self, request: web.Request) -> web.Response:
        item = self._apply("index", request.match_info["index"], request.match_info["id"], await request.json())
        return self._json(item, item["status"])

    async def _get_doc(self, request: web.Request) -> web.Response:
        index, doc_id = request.match_info["index"], request.match_info["id"]
        doc = self.state.docs.get(index, {}).get(doc_id)
        if doc is None:
            return self._json({"_index": index, "_id": doc_id, "found": False}, 404)
        return self._json({"_index": index, "_id": doc_id, "found": True, "_source": doc})

    def _matching(self, pattern: str) -> list[tuple[str, str, dict[str, Any]]]:
        names = [n for n in self.state.docs if pattern in ("_all", "*") or n == pattern or
                 (pattern.endswith("*") and n.startswith(pattern[:-1]))]
        return [(n, i, d) for n in names for i, d in self.state.docs[n].items()]

    async def _search(self, request: web.Request) -> web.Response:
        hits = self._matching(request.match_info["index"])
        size = int(request.query.get("size", "10"))
        return self._json({"took": 1, "timed_out": False, "hits": {
            "total": {"value": len(hits), "relation": "eq"},
            "hits": [{"_index": n, "_id": i, "_source": d} for n, i, d in hits[:size]]}})

    async def _count(self, request: web.Request) -> web.Response:
        return self._json({"count": len(self._matching(request.match_info["index"]))})

    async def _refresh(self, _: web.Request) -> web.Response:
        return self._json({"_shards": {"total": 1, "successful": 1, "failed": 0}})
