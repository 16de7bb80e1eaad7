"""HTTP routes of the checks role: reads open, run-now behind a bearer token, kuberhealthy's report endpoint.

- GET  /api/checks, GET /api/checks/{namespace}/{name}
- POST /api/checks/{namespace}/{name}/run   (Authorization: Bearer <token from the Secret in checks.api_token>)
- POST /check   kuberhealthy's reporting protocol: header kh-run-uuid, body {"ok": bool, "errors": [...]}
"""

from __future__ import annotations

import hmac
import json
from collections.abc import Sequence
from typing import Any, Protocol

from aiohttp import web

from kubevigil.core.secrets import view
from kubevigil.kube.client import KubeApi
from kubevigil.kube.secrets import SecretKey
from kubevigil.roles.checks.check import CheckKey
from kubevigil.roles.checks.config import ChecksSection
from kubevigil.roles.checks.runs import Outcome
from kubevigil.roles.role import RoleContext

MAX_REPORT_BYTES = 64 * 1024


class ChecksRole(Protocol):
    """What the routes use of the controller (which mounts them, so they do not import it)."""

    section: ChecksSection
    ctx: RoleContext
    api: KubeApi

    def status(self) -> dict[str, Any]: ...

    def find(self, namespace: str, name: str) -> list[tuple[CheckKey, dict[str, Any]]]: ...

    def key_for_run(self, uuid: str) -> CheckKey | None: ...

    def accept_report(self, key: CheckKey, uuid: str, outcome: Outcome) -> None: ...

    async def trigger(self, key: CheckKey, obj: dict[str, Any]) -> None: ...


class TokenSource:
    """The run-now API token, read from its Secret (kube.secrets: cached, so a rotation takes effect within 30 s)."""

    def __init__(self, role: ChecksRole) -> None:
        self._role = role
        self._secret: SecretKey | None = None

    async def get(self) -> str | None:
        spec = self._role.section.api_token
        if spec is None:
            return None
        if self._secret is None:
            namespace = spec.namespace or self._role.ctx.pod.namespace
            self._secret = SecretKey(self._role.api, namespace, spec.secret, spec.key)
        return await self._secret.get()


def routes(role: ChecksRole) -> Sequence[web.RouteDef]:
    tokens = TokenSource(role)

    async def list_checks(_: web.Request) -> web.Response:
        return web.json_response(role.status())

    async def get_check(request: web.Request) -> web.Response:
        found = role.find(request.match_info["namespace"], request.match_info["name"])
        if not found:
            return _error(404, "no HealthCheck with that namespace and name")
        # the spec as written may hold header values and URLs with credentials: shown masked, as in check-config
        return web.json_response({"checks": [{"apiVersion": obj.get("apiVersion"), "metadata": {
            "namespace": key.namespace, "name": key.name}, "spec": view(obj.get("spec")), "status": obj.get("status")}
            for key, obj in found]})

    async def run_now(request: web.Request) -> web.Response:
        denied = await _authorize(request, tokens, role)
        if denied is not None:
            return denied
        found = role.find(request.match_info["namespace"], request.match_info["name"])
        if not found:
            return _error(404, "no HealthCheck with that namespace and name")
        for key, obj in found:
            await role.trigger(key, obj)
        return web.json_response({"triggered": [str(key) for key, _ in found]}, status=202)

    async def report(request: web.Request) -> web.Response:
        return await _report(request, role)

    return [web.get("/api/checks", list_checks), web.get("/api/checks/{namespace}/{name}", get_check),
            web.post("/api/checks/{namespace}/{name}/run", run_now), web.post("/check", report)]


def _error(status: int, message: str) -> web.Response:
    return web.json_response({"error": message}, status=status)


async def _authorize(request: web.Request, tokens: TokenSource, role: ChecksRole) -> web.Response | None:
    expected = await tokens.get()
    if expected is None:
        reason = ("run-now is disabled: checks.api_token is not configured" if role.section.api_token is None
                  else "run-now is unavailable: the API token Secret cannot be read")
        return _error(403, reason)
    header = request.headers.get("Authorization", "")
    if not header.startswith("Bearer "):
        return web.json_response({"error": "bearer token required"}, status=401,
                                 headers={"WWW-Authenticate": 'Bearer realm="kubevigil"'})
    if not hmac.compare_digest(header[len("Bearer "):].strip().encode(), expected.encode()):
        return _error(403, "invalid token")
    return None


async def _report(request: web.Request, role: ChecksRole) -> web.Response:
    """kuberhealthy's /check: the run UUID must be a check's run in flight; the body must be consistent."""
    uuid = request.headers.get("kh-run-uuid", "")
    if not uuid:
        return _error(400, "missing kh-run-uuid header")
    key = role.key_for_run(uuid)
    if key is None:
        return _error(400, f"run uuid {uuid} is invalid or expired")
    if not request.content_type.startswith("application/json"):
        return _error(415, "Content-Type must be application/json")
    raw = await request.content.read(MAX_REPORT_BYTES + 1)
    if len(raw) > MAX_REPORT_BYTES:
        return _error(413, "report too large")
    try:
        doc = json.loads(raw)
    except ValueError:
        return _error(400, "body is not JSON")
    if not isinstance(doc, dict):
        return _error(400, 'body must be an object {"ok": bool, "errors": [...]}')
    fields = {k.lower(): v for k, v in doc.items()}  # Go's encoding/json matches keys case-insensitively
    ok, errors = fields.get("ok"), fields.get("errors") or []
    if not isinstance(ok, bool) or not isinstance(errors, list):
        return _error(400, '"ok" must be a boolean and "errors" a list of strings')
    if ok and errors:
        return _error(400, "a report with ok true must not carry errors")
    if not ok and not errors:
        return _error(400, "a report with ok false must carry at least one error")
    role.accept_report(key, uuid, Outcome(ok, "; ".join(str(e) for e in errors)[:1000]))
    return web.json_response({"accepted": True})

