"""The page's HTTP routes: / (the page), /web/panels/<name> (one panel's HTML, for the live refresh),
/api/panels[/<name>] (the same data as JSON, for scripts) and /web/static/<file>."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Awaitable, Callable, Mapping, Sequence
from importlib import resources
from typing import Any

import orjson
from aiohttp import web
from markupsafe import Markup

from kubevigil.web import panels
from kubevigil.web.access import HEADERS, ReadAccess
from kubevigil.web.process import Process

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

STATIC_TYPES = {"app.js": "text/javascript", "app.css": "text/css", "favicon.svg": "image/svg+xml"}


def static_files() -> dict[str, tuple[bytes, str, str]]:
    """Each static file: (body, content type, ETag), read once from the package."""
    folder = resources.files("kubevigil.web").joinpath("static")
    out = {}
    for name, content_type in STATIC_TYPES.items():
        body = folder.joinpath(name).read_bytes()
        out[name] = (body, content_type, '"' + hashlib.sha256(body).hexdigest()[:16] + '"')
    return out


def wants_html(request: web.Request) -> bool:
    return "text/html" in request.headers.get("Accept", "")


def split_root(role_routes: Sequence[web.RouteDef]) -> tuple[list[web.RouteDef], Handler | None]:
    """The roles' routes without a GET /, and that route's handler (the nurse's kubenurse-compatible /alive)."""
    rest, root = [], None
    for route in role_routes:
        if route.method == "GET" and route.path == "/":
            root = route.handler
        else:
            rest.append(route)
    return rest, root


def section(name: str, data: Mapping[str, Any] | None, query: Mapping[str, str], now: float) -> str:
    """One panel's HTML; a panel without data is an empty hidden section (the live refresh may fill it later)."""
    from kubevigil.web.render import has_template, render  # Jinja2: a process nobody browses never imports it

    if data is None:
        return render("hidden.html.j2", name=name)
    template = f"panels/{name}.html.j2"
    if "unavailable" in data:
        template = "panels/unavailable.html.j2"
    elif not has_template(template):
        template = "panels/generic.html.j2"
    return render(template, name=name, title=panels.title(name), data=data, query=query, now=now)


def _json(body: Any, status: int = 200) -> web.Response:
    return _compressed(web.Response(body=orjson.dumps(body, option=orjson.OPT_NON_STR_KEYS), status=status,
                                    content_type="application/json", headers=HEADERS))


def _html(text: str) -> web.Response:
    return _compressed(web.Response(text=text, content_type="text/html", headers=HEADERS))


def _compressed(response: web.Response) -> web.Response:
    """Gzip when the client takes it: a 100-node matrix is megabytes of SVG, refreshed every few seconds."""
    response.enable_compression()
    return response


def _refused(why: str) -> web.Response:
    status = 404 if why.startswith("the web page is off") else 401
    headers = {**HEADERS, "WWW-Authenticate": 'Bearer realm="kubevigil"'} if status == 401 else HEADERS
    return web.Response(body=orjson.dumps({"error": why}), status=status, content_type="application/json",
                        headers=headers)


def routes(process: Process, role_routes: Sequence[web.RouteDef]) -> list[web.RouteDef]:
    """The page's routes plus the roles' routes; a role's own GET / keeps answering clients that are not browsers."""
    access = ReadAccess(process)
    others, role_root = split_root(role_routes)
    static = static_files()

    async def root(request: web.Request) -> web.StreamResponse:
        if role_root is not None and not wants_html(request):
            return await role_root(request)
        if access.off:
            return _refused(await access.refusal(request))
        return await page(request)

    async def gather(names: Sequence[str], query: Mapping[str, str]) -> list[dict[str, Any] | None]:
        return list(await asyncio.gather(*(panels.data(process, name, query) for name in names)))

    async def page(request: web.Request) -> web.Response:
        from kubevigil.web.render import render

        refusal = await access.refusal(request)
        query, now, names = dict(request.query), process.clock.now(), panels.names(process)
        found = [None] * len(names) if refusal else await gather(names, query)
        sections = [section(name, data, query, now) for name, data in zip(names, found, strict=True)]
        # Markup: each section was rendered by our autoescaping templates
        html = render("page.html.j2", cluster=process.cluster_name, names=names, notice=refusal, now=now,
                      refresh=process.settings.refresh_seconds, sections=[Markup(s) for s in sections])
        return _html(html)

    async def readable(request: web.Request) -> web.Response | tuple[str, dict[str, str]]:
        """The requested panel's name and query, or the answer that refuses the request."""
        name = request.match_info["name"]
        if name not in panels.names(process):
            return _json({"error": f"no panel named {name!r}"}, status=404)
        refusal = await access.refusal(request)
        return _refused(refusal) if refusal else (name, dict(request.query))

    async def fragment(request: web.Request) -> web.Response:
        asked = await readable(request)
        if isinstance(asked, web.Response):
            return asked
        name, query = asked
        return _html(section(name, await panels.data(process, name, query), query, process.clock.now()))

    async def one_json(request: web.Request) -> web.Response:
        asked = await readable(request)
        if isinstance(asked, web.Response):
            return asked
        name, query = asked
        return _json({"name": name, "title": panels.title(name), "data": await panels.data(process, name, query)})

    async def all_json(request: web.Request) -> web.Response:
        refusal = await access.refusal(request)
        if refusal:
            return _refused(refusal)
        names = panels.names(process)
        found = await gather(names, dict(request.query))
        return _json({"panels": [{"name": n, "title": panels.title(n), "data": d}
                                 for n, d in zip(names, found, strict=True)]})

    async def asset(request: web.Request) -> web.Response:
        found = static.get(request.match_info["file"])
        if found is None:
            return _json({"error": "not found"}, status=404)
        body, content_type, etag = found
        headers = {**HEADERS, "Cache-Control": "no-cache", "ETag": etag}
        if request.headers.get("If-None-Match") == etag:
            return web.Response(status=304, headers=headers)
        return web.Response(body=body, content_type=content_type, headers=headers)

    return [web.get("/", root), web.get("/web/panels/{name}", fragment), web.get("/api/panels", all_json),
            web.get("/api/panels/{name}", one_json), web.get("/web/static/{file}", asset), *others]
