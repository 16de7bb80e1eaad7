"""Subresources and virtual resources that are not plain CRUD: scale, eviction, pod logs, token requests and the
access/identity reviews (SelfSubjectAccessReview, SelfSubjectRulesReview, SubjectAccessReview, SelfSubjectReview,
TokenReview)."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from aiohttp import web

from kubevigil.kube.resources import Resource
from kubevigil.kube.selectors import selector_from_spec
from kubevigil.sim.disruption import budgets_for, disruption_status, pod_ready
from kubevigil.sim.errors import ApiStatusError, bad_request, invalid
from kubevigil.sim.patch import PatchError, json_patch, merge_patch, strategic_merge_patch
from kubevigil.sim.rbac import AUTHENTICATED, Attributes, Authorizer, User, rules_review
from kubevigil.sim.requests import Target, json_response, query_bool, read_json_object
from kubevigil.sim.store import rfc3339

if TYPE_CHECKING:
    from kubevigil.sim.auth import Authenticator
    from kubevigil.sim.podlogs import PodLogs
    from kubevigil.sim.store import Store

_FOLLOW_POLL = 1.0


# --- scale ----------------------------------------------------------------------------------------------------------

def _scale_of(obj: dict[str, Any]) -> dict[str, Any]:
    """autoscaling/v1 Scale of a Deployment, StatefulSet or ReplicaSet."""
    meta = obj["metadata"]
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    try:
        selector = str(selector_from_spec(spec.get("selector") or {}))
    except ValueError:
        selector = ""
    scale_meta = {k: meta[k] for k in ("name", "namespace", "uid", "resourceVersion", "creationTimestamp") if k in meta}
    out_status: dict[str, Any] = {"replicas": int(status.get("replicas") or 0)}
    if selector:
        out_status["selector"] = selector
    return {"kind": "Scale", "apiVersion": "autoscaling/v1", "metadata": scale_meta,
            "spec": {"replicas": int(spec.get("replicas", 1))}, "status": out_status}


async def scale(store: Store, request: web.Request, target: Target) -> web.Response:
    """GET, PUT or PATCH `<workload>/<name>/scale`: the owner's spec.replicas seen as a Scale."""
    res, name = target.res, target.name or ""
    current = store.get_raw(res, target.namespace, name)
    if request.method == "GET":
        return json_response(_scale_of(current))
    if request.method == "PUT":
        wanted = await read_json_object(request, "Scale")
    elif request.method == "PATCH":
        wanted = _patched_scale(_scale_of(current), request.content_type, await request.read())
    else:
        raise ApiStatusError(405, "MethodNotAllowed", f"the server does not allow this method on the requested "
                             f"resource ({request.method} {res.plural}/scale)")
    replicas = (wanted.get("spec") or {}).get("replicas")
    if not isinstance(replicas, int) or isinstance(replicas, bool) or replicas < 0:
        raise invalid(res, name, [("spec.replicas", (f"Invalid value: {replicas!r}: must be greater than or "
                                   "equal to 0"))])
    rv = (wanted.get("metadata") or {}).get("resourceVersion")
    updated = {**current, "spec": {**(current.get("spec") or {}), "replicas": replicas},
               "metadata": {**current["metadata"], "resourceVersion": rv or current["metadata"]["resourceVersion"]}}
    return json_response(_scale_of(store.replace(res, updated)))


def _patched_scale(scale_obj: dict[str, Any], content_type: str, raw: bytes) -> dict[str, Any]:
    import orjson

    try:
        patch = orjson.loads(raw)
        if content_type == "application/json-patch+json":
            return json_patch(scale_obj, patch)  # type: ignore[no-any-return]
        if content_type == "application/strategic-merge-patch+json":
            return strategic_merge_patch(scale_obj, patch)  # type: ignore[no-any-return]
        return merge_patch(scale_obj, patch)  # type: ignore[no-any-return]
    except (orjson.JSONDecodeError, PatchError) as e:
        raise bad_request(f"the patch of the Scale cannot be applied: {e}") from None


# --- eviction -------------------------------------------------------------------------------------------------------

async def evict(store: Store, request: web.Request, target: Target) -> web.Response:
    """POST `pods/<name>/eviction` (policy/v1 Eviction): delete the pod unless a disruption budget forbids it."""
    if request.method != "POST":
        raise ApiStatusError(405, "MethodNotAllowed", "the server does not allow this method on the requested "
                             f"resource ({request.method} pods/eviction)")
    body = await read_json_object(request, "Eviction")
    pod_res = target.res
    name = target.name or ""
    if (body.get("metadata") or {}).get("name") not in (None, "", name):
        raise bad_request(f"name in URL does not match name in Eviction object: {body['metadata']['name']!r}")
    pod = store.get_raw(pod_res, target.namespace, name)
    phase = (pod.get("status") or {}).get("phase")
    if phase not in ("Succeeded", "Failed") and not pod["metadata"].get("deletionTimestamp"):
        budgets = budgets_for(store, pod)
        if len(budgets) > 1:
            raise ApiStatusError(500, "InternalError", "This pod has more than one PodDisruptionBudget, which the "
                                 "eviction subresource does not support.")
        for pdb, pods in budgets:
            status = disruption_status(pdb, pods)
            if status["disruptionsAllowed"] < 1 or (not pod_ready(pod) and status["currentHealthy"] <= \
                    status["desiredHealthy"]):
                pdb_name = pdb["metadata"]["name"]
                raise ApiStatusError(
                    429, "TooManyRequests", "Cannot evict pod as it would violate the pod's disruption budget.",
                    {"causes": [{"reason": "DisruptionBudget",
                                 "message": f"The disruption budget {pdb_name} needs {status['desiredHealthy']} "
                                            f"healthy pods and has {status['currentHealthy']} currently"}]})
    options = body.get("deleteOptions") or {}
    dry = "All" in (options.get("dryRun") or [])
    store.delete(pod_res, target.namespace, name, dry_run=dry,
                 propagation=options.get("propagationPolicy") or "Background")
    return json_response({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success",
                          "code": 201}, 201)


# --- pod logs -------------------------------------------------------------------------------------------------------

def _log_container(pod: dict[str, Any], requested: str | None) -> str:
    names: list[str] = [c["name"] for c in (pod.get("spec") or {}).get("containers") or []]
    pod_name = pod["metadata"]["name"]
    if requested:
        init = [c["name"] for c in (pod.get("spec") or {}).get("initContainers") or []]
        if requested not in names + init:
            raise bad_request(f"container {requested} is not valid for pod {pod_name}")
        return requested
    if len(names) != 1:
        raise bad_request(f"a container name must be specified for pod {pod_name}, choose one of: "
                          f"[{' '.join(names)}]")
    return names[0]


def _waiting_reason(pod: dict[str, Any], container: str) -> str | None:
    for cs in (pod.get("status") or {}).get("containerStatuses") or []:
        if cs.get("name") == container:
            waiting = (cs.get("state") or {}).get("waiting")
            return (waiting or {}).get("reason") if waiting and not cs.get("lastState") else None
    return "ContainerCreating"


def _int_param(request: web.Request, name: str) -> int | None:
    raw = request.query.get(name)
    if raw is None or raw == "":
        return None
    try:
        return int(raw)
    except ValueError:
        raise bad_request(f"{name}: Invalid value: {raw!r}: must be an integer") from None


async def pod_log(store: Store, logs: PodLogs | None, request: web.Request, target: Target
                  ) -> web.StreamResponse:
    """GET `pods/<name>/log` with container, previous, tailLines, timestamps, follow (kubelet's answers)."""
    pod = store.get_raw(target.res, target.namespace, target.name or "")
    container = _log_container(pod, request.query.get("container"))
    previous = query_bool(request, "previous")
    uid, pod_name = pod["metadata"]["uid"], pod["metadata"]["name"]
    instance = logs.instance(uid, container, previous) if logs is not None else None
    if instance is None:
        if previous:
            raise bad_request(f'previous terminated container "{container}" in pod "{pod_name}" not found')
        reason = _waiting_reason(pod, container) or "ContainerCreating"
        raise bad_request(f'container "{container}" in pod "{pod_name}" is waiting to start: {reason}')
    tail = _int_param(request, "tailLines")
    stamps = query_bool(request, "timestamps")
    lines = instance.lines[-tail:] if tail is not None and tail >= 0 else instance.lines
    if tail == 0:
        lines = []
    resp = web.StreamResponse(headers={"Content-Type": "text/plain"})
    await resp.prepare(request)
    await resp.write(_log_text(lines, stamps))
    if query_bool(request, "follow") and logs is not None and not previous:
        sent = len(instance.lines)
        while not instance.exited and store.try_get(target.res, target.namespace, pod_name) is not None:
            await logs.wait_changed(_FOLLOW_POLL)
            if len(instance.lines) > sent:
                await resp.write(_log_text(instance.lines[sent:], stamps))
                sent = len(instance.lines)
            if logs.instance(uid, container, False) is not instance:
                break
            await asyncio.sleep(0)
    await resp.write_eof()
    return resp


def _log_text(lines: list[tuple[float, str]], stamps: bool) -> bytes:
    if stamps:
        return "".join(f"{_nano_stamp(ts)} {line}\n" for ts, line in lines).encode()
    return "".join(f"{line}\n" for _, line in lines).encode()


def _nano_stamp(ts: float) -> str:
    return rfc3339(ts)[:-1] + f".{int(ts % 1 * 1e9):09d}Z"


# --- tokens and reviews ---------------------------------------------------------------------------------------------

async def token_request(store: Store, authn: Authenticator, request: web.Request, target: Target) -> web.Response:
    """POST `serviceaccounts/<name>/token` (authentication.k8s.io/v1 TokenRequest), as `kubectl create token`."""
    if request.method != "POST":
        raise ApiStatusError(405, "MethodNotAllowed", "the server does not allow this method on the requested "
                             f"resource ({request.method} serviceaccounts/token)")
    body = await read_json_object(request, "TokenRequest")
    sa = store.get_raw(target.res, target.namespace, target.name or "")
    spec = body.get("spec") or {}
    token, exp = authn.mint(target.namespace or "", sa["metadata"]["name"], sa["metadata"]["uid"],
                            spec.get("expirationSeconds"), spec.get("audiences"))
    meta = {"name": sa["metadata"]["name"], "namespace": target.namespace,
            "creationTimestamp": rfc3339(store.clock.now())}
    return json_response({"kind": "TokenRequest", "apiVersion": "authentication.k8s.io/v1", "metadata": meta,
                          "spec": {"audiences": spec.get("audiences") or [], "expirationSeconds":
                                   int(exp - int(store.clock.now())), **({"boundObjectRef": spec["boundObjectRef"]}
                                                                        if spec.get("boundObjectRef") else {})},
                          "status": {"token": token, "expirationTimestamp": rfc3339(exp)}}, 201)


def _review_attributes(user: User, spec: dict[str, Any]) -> Attributes:
    if spec.get("nonResourceAttributes"):
        nra = spec["nonResourceAttributes"]
        return Attributes(user, nra.get("verb", ""), path=nra.get("path", ""))
    ra = spec.get("resourceAttributes") or {}
    return Attributes(user, ra.get("verb", ""), ra.get("namespace", ""), ra.get("group", ""),
                      ra.get("resource", ""), ra.get("subresource", ""), ra.get("name", ""))


def _review_user(spec: dict[str, Any]) -> User:
    groups = tuple(spec.get("groups") or ())
    return User(spec.get("user", ""), groups if AUTHENTICATED in groups else (*groups, AUTHENTICATED),
                spec.get("uid", ""))


async def review(res: Resource, authz: Authorizer, authn: Authenticator, user: User, request: web.Request,
                 target: Target) -> web.Response:
    """POST to one of the virtual review resources; nothing is stored."""
    if request.method != "POST" or target.name:
        raise ApiStatusError(405, "MethodNotAllowed", f"the server does not allow this method on the requested "
                             f"resource ({request.method} {res.plural}.{res.group})")
    body = await read_json_object(request, res.kind)
    spec = body.get("spec") or {}
    out: dict[str, Any] = {"kind": res.kind, "apiVersion": res.api_version,
                           "metadata": {"creationTimestamp": None}, "spec": spec}
    if res.kind in ("SelfSubjectAccessReview", "SubjectAccessReview", "LocalSubjectAccessReview"):
        subject = user if res.kind == "SelfSubjectAccessReview" else _review_user(spec)
        if res.kind == "LocalSubjectAccessReview":
            spec.setdefault("resourceAttributes", {})["namespace"] = target.namespace or ""
        allowed = authz.allowed(_review_attributes(subject, spec))
        out["status"] = {"allowed": allowed} if allowed else {"allowed": False, "denied": False}
    elif res.kind == "SelfSubjectRulesReview":
        out["status"] = rules_review(authz, user, spec.get("namespace") or "")
    elif res.kind == "SelfSubjectReview":
        out = {"kind": res.kind, "apiVersion": res.api_version, "metadata": {"creationTimestamp": None},
               "status": {"userInfo": user.info()}}
    else:  # TokenReview
        reviewed = authn.review(spec.get("token", "")) or (authn.authenticate(f"Bearer {spec.get('token', '')}"))
        out["status"] = {"authenticated": True, "user": reviewed.info()} if reviewed else {"authenticated": False}
    return json_response(out, 201)

