"""Request plumbing shared by the HTTP handlers: what a URL addresses, who asks what (authorization
attributes), request bodies (JSON, YAML, protobuf), and JSON responses."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson
import yaml
from aiohttp import web

from kubevigil.kube.resources import Resource
from kubevigil.sim import k8sproto
from kubevigil.sim.errors import ApiStatusError, bad_request
from kubevigil.sim.rbac import Attributes, User
from kubevigil.sim.store import Store

JSON = "application/json"
_NS_SUBRESOURCES = frozenset({"status", "finalize"})
_VERBS = {"POST": "create", "PUT": "update", "PATCH": "patch"}


def json_response(body: Any, status: int = 200) -> web.Response:
    return web.Response(body=orjson.dumps(body), status=status, content_type=JSON)


def error_response(err: ApiStatusError) -> web.Response:
    return json_response(err.status(), err.code)


@dataclass(frozen=True)
class Target:
    """What a resource URL addresses."""

    res: Resource
    namespace: str | None
    name: str | None
    subresource: str | None
    rest: str  # the path after `proxy/` for proxy requests


def parse_target(store: Store, group: str, version: str, parts: list[str]) -> Target:
    namespace = None
    if len(parts) >= 3 and parts[0] == "namespaces" and parts[2] not in _NS_SUBRESOURCES:
        namespace, parts = parts[1], parts[2:]
    if not parts:
        raise ApiStatusError(404, "NotFound", "the server could not find the requested resource")
    try:
        res = store.resource_by_plural(group, version, parts[0])
    except KeyError:
        raise ApiStatusError(404, "NotFound", "the server could not find the requested resource") from None
    name = parts[1] if len(parts) > 1 else None
    sub = parts[2] if len(parts) > 2 else None
    if sub is not None and sub not in res.subresources:
        raise ApiStatusError(404, "NotFound", f"the server could not find the requested resource ({sub})")
    if sub != "proxy" and len(parts) > 3:
        raise ApiStatusError(404, "NotFound", "the server could not find the requested resource")
    return Target(res, namespace if res.namespaced else None, name, sub, "/".join(parts[3:]))


def wants_table(request: web.Request) -> bool:
    accept = request.headers.get("Accept", "")
    first = accept.split(",")[0]
    return "as=Table" in first


def query_bool(request: web.Request, name: str) -> bool:
    return request.query.get(name, "").lower() in ("1", "true")


def dry_run(request: web.Request) -> bool:
    values = request.query.getall("dryRun", [])
    for v in values:
        if v != "All":
            raise bad_request(f'dryRun: Unsupported value: "{v}": supported values: "All"')
    return bool(values)


def _unsupported_media(ctype: str) -> ApiStatusError:
    return ApiStatusError(415, "UnsupportedMediaType", f"the body of the request was in an unknown format - "
                          f"accepted media types include: application/json, application/yaml, application/vnd.kubernetes.protobuf (got {ctype})")


async def read_body(request: web.Request) -> Any:
    ctype = request.content_type
    if "cbor" in ctype:
        raise _unsupported_media(ctype)
    raw = await request.read()
    if ctype == k8sproto.MEDIA_TYPE:
        try:
            return k8sproto.decode(raw)
        except k8sproto.ProtobufError as e:
            raise bad_request(str(e)) from None
    try:
        if "yaml" in ctype:
            return yaml.safe_load(raw)
        return orjson.loads(raw)
    except (orjson.JSONDecodeError, yaml.YAMLError) as e:
        raise bad_request(f"the request body is not valid {('YAML' if 'yaml' in ctype else 'JSON')}: {e}") from None


async def read_json_object(request: web.Request, kind: str) -> dict[str, Any]:
    """A body that must be a JSON (or protobuf) object of `kind`; 400 otherwise."""
    body = await read_body(request)
    if not isinstance(body, dict):
        raise bad_request(f"the body of a {kind} must be an object")
    return body


def request_attributes(request: web.Request, user: User) -> Attributes:
    """The authorization attributes of a request (k8s.io/apiserver's RequestInfoFactory, simplified)."""
    parts = [p for p in request.path.split("/") if p]
    if len(parts) >= 2 and parts[0] == "api":
        group, rest = "", parts[2:]
    elif len(parts) >= 3 and parts[0] == "apis":
        group, rest = parts[1], parts[3:]
    else:
        rest = []
    if not rest:
        return Attributes(user, request.method.lower(), path=request.path)
    namespace = ""
    if rest[0] == "namespaces" and len(rest) > 1:
        namespace = rest[1]
        if len(rest) > 2 and rest[2] not in _NS_SUBRESOURCES:
            rest = rest[2:]
    resource = rest[0]
    name = rest[1] if len(rest) > 1 else ""
    sub = rest[2] if len(rest) > 2 else ""
    method = request.method
    if method == "GET":
        verb = "watch" if query_bool(request, "watch") else ("get" if name else "list")
    elif method == "DELETE":
        verb = "delete" if name else "deletecollection"
    else:
        verb = _VERBS.get(method, method.lower())
    return Attributes(user, verb, namespace, group, resource, sub, name)
