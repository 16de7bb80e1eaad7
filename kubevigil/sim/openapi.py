"""A minimal OpenAPI v3 index: enough for kubectl to see that the server validates fields itself.

kubectl apply/create (`--validate=strict`, the default) first asks /openapi/v3 whether the PATCH operation of the
kind accepts the `fieldValidation` query parameter; if it does, validation is left to the server and no schemas
are needed. Schemas are not published, so kubectl builds strategic merge patches from its compiled-in types.
"""

from __future__ import annotations

import hashlib
from typing import Any

import orjson

from kubevigil.kube.resources import Resource

_PARAMS = [{"name": n, "in": "query", "schema": {"type": "string", "uniqueItems": True}}
           for n in ("dryRun", "fieldManager", "fieldValidation", "force")]


def _gv_path(group: str, version: str) -> str:
    return f"apis/{group}/{version}" if group else f"api/{version}"


def _operation(res: Resource, action: str) -> dict[str, Any]:
    return {
        "operationId": f"{action}{res.kind}",
        "parameters": _PARAMS,
        "responses": {"200": {"description": "OK"}},
        "x-kubernetes-action": action,
        "x-kubernetes-group-version-kind": {"group": res.group, "version": res.version, "kind": res.kind},
    }


def group_version_doc(group: str, version: str, resources: list[Resource]) -> dict[str, Any] | None:
    """The OpenAPI v3 document of one group/version: one PATCH/PUT operation per resource, no schemas."""
    served = [r for r in resources if r.group == group and r.version == version]
    if not served:
        return None
    paths: dict[str, Any] = {}
    for res in served:
        ns = "namespaces/{namespace}/" if res.namespaced else ""
        path = f"/{_gv_path(group, version)}/{ns}{res.plural}/{{name}}"
        paths[path] = {"patch": _operation(res, "patch"), "put": _operation(res, "put")}
    return {"openapi": "3.0.0", "info": {"title": "Kubernetes", "version": "v1.31.0"}, "paths": paths,
            "components": {"schemas": {}}}


def root_doc(resources: list[Resource]) -> dict[str, Any]:
    """The /openapi/v3 index pointing at each group/version document (hash = its content, as the server does)."""
    gvs = sorted({(r.group, r.version) for r in resources})
    paths = {}
    for group, version in gvs:
        body = orjson.dumps(group_version_doc(group, version, resources))
        digest = hashlib.sha512(body).hexdigest()[:32].upper()
        paths[_gv_path(group, version)] = {"serverRelativeURL": f"/openapi/v3/{_gv_path(group, version)}?hash={digest}"}
    return {"paths": paths}
