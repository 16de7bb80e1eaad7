"""The two HealthCheck CRDs, generated from the pydantic models (structural OpenAPI v3 schemas, printer columns).

`kubevigil checks crd` prints them; deploy/crds/ holds the same text (a test keeps it current).
"""

from __future__ import annotations

import copy
from typing import Any

import yaml
from pydantic import BaseModel

from kubevigil.roles.checks import activemonitor, healthcheck
from kubevigil.roles.checks.status import HealthCheckStatus

PRINTER_COLUMNS = [
    {"name": "STATUS", "type": "string", "jsonPath": ".status.status"},
    {"name": "SUCCESS", "type": "integer", "jsonPath": ".status.successCount"},
    {"name": "FAIL", "type": "integer", "jsonPath": ".status.failedCount"},
    {"name": "LAST RUN", "type": "date", "jsonPath": ".status.finishedAt"},
    {"name": "NEXT RUN", "type": "string", "jsonPath": ".status.nextRunAt"},  # a date column shows 0s for the future
    {"name": "REMEDY", "type": "string", "jsonPath": ".status.remedyStatus"},
    {"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"},
]

# pydantic's JSON Schema keys a CRD schema has no place for: SecretStr's `writeOnly` (and `readOnly`) are not
# JSONSchemaProps fields, so the API server would refuse the CRD.
_DROP = ("title", "default", "writeOnly", "readOnly")
_EXCLUSIVE = {"exclusiveMinimum": "minimum", "exclusiveMaximum": "maximum"}


def openapi_schema(model: type[BaseModel], *, preserve_unknown: bool = False) -> dict[str, Any]:
    """A structural OpenAPI v3 schema for `model`: refs inlined, Optional unwrapped, no titles or defaults."""
    raw = model.model_json_schema(mode="validation")
    defs = raw.pop("$defs", {})
    schema: dict[str, Any] = _structural(raw, defs, preserve_unknown)
    return schema


def _structural(node: Any, defs: dict[str, Any], preserve: bool) -> Any:
    if isinstance(node, list):
        return [_structural(n, defs, preserve) for n in node]
    if not isinstance(node, dict):
        return node
    if "$ref" in node:
        target = copy.deepcopy(defs[node["$ref"].rsplit("/", 1)[-1]])
        extra = {k: v for k, v in node.items() if k != "$ref"}
        return _structural({**target, **extra}, defs, preserve)
    if node.get("x-kubernetes-int-or-string"):
        return {k: v for k, v in node.items() if k not in _DROP}
    if "anyOf" in node:
        variants = [v for v in node["anyOf"] if v.get("type") != "null"]
        rest = {k: v for k, v in node.items() if k != "anyOf"}
        if len(variants) == 1:
            return _structural({**variants[0], **rest}, defs, preserve)
        return _mixed(variants, rest)
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key in _DROP:
            continue
        if key in _EXCLUSIVE and not isinstance(value, bool):  # JSON Schema's number, OpenAPI v3.0's boolean
            out[_EXCLUSIVE[key]] = value
            out[key] = True
            continue
        if key == "properties":
            out[key] = {name: _structural(v, defs, preserve) for name, v in value.items()}
        elif key == "additionalProperties":
            if value is True or value == {}:
                out["x-kubernetes-preserve-unknown-fields"] = True
            elif value is not False:
                out[key] = _structural(value, defs, preserve)
        else:
            out[key] = _structural(value, defs, preserve)
    if out.get("type") == "object" and "properties" not in out and "additionalProperties" not in out:
        out["x-kubernetes-preserve-unknown-fields"] = True
    if preserve and out.get("type") == "object" and "properties" in out:
        out["x-kubernetes-preserve-unknown-fields"] = True
    if not out.get("type") and "anyOf" not in out and not out.get("x-kubernetes-int-or-string"):
        out["x-kubernetes-preserve-unknown-fields"] = True
    return out


def _mixed(variants: list[dict[str, Any]], rest: dict[str, Any]) -> dict[str, Any]:
    """A value of several types: int-or-string when it is exactly that, else any value (pydantic validates it)."""
    kept = {k: v for k, v in rest.items() if k == "description"}
    if sorted(str(v.get("type")) for v in variants) == ["integer", "string"]:
        return {"x-kubernetes-int-or-string": True, **kept}
    return {"x-kubernetes-preserve-unknown-fields": True, **kept}


def _crd(group: str, version: str, spec_schema: dict[str, Any], description: str,
         short_names: list[str]) -> dict[str, Any]:
    status_schema = openapi_schema(HealthCheckStatus)
    schema = {
        "type": "object",
        "description": description,
        "properties": {
            "apiVersion": {"type": "string"},
            "kind": {"type": "string"},
            "metadata": {"type": "object"},
            "spec": spec_schema,
            "status": status_schema,
        },
        "required": ["spec"],
    }
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": f"healthchecks.{group}", "labels": {"app.kubernetes.io/part-of": "kubevigil"}},
        "spec": {
            "group": group,
            "names": {"kind": "HealthCheck", "listKind": "HealthCheckList", "plural": "healthchecks",
                      "singular": "healthcheck", "shortNames": short_names, "categories": ["kubevigil"]},
            "scope": "Namespaced",
            "versions": [{
                "name": version, "served": True, "storage": True,
                "additionalPrinterColumns": PRINTER_COLUMNS,
                "schema": {"openAPIV3Schema": schema},
                "subresources": {"status": {}},
            }],
        },
    }


def activemonitor_crd() -> dict[str, Any]:
    """active-monitor's HealthCheck CRD, run by kubevigil: same spec (unknown keys kept), kubevigil's status."""
    spec = openapi_schema(activemonitor.HealthCheckSpec, preserve_unknown=True)
    return _crd(activemonitor.GROUP, activemonitor.VERSION, spec,
                "An active-monitor HealthCheck, run by kubevigil (spec unchanged from active-monitor)", ["hc", "hcs"])


def kubevigil_crd() -> dict[str, Any]:
    """kubevigil's own HealthCheck; short name `khc` (`hc` stays active-monitor's); `kubectl get kubevigil` lists both."""
    spec = openapi_schema(healthcheck.HealthCheckSpec)
    spec["properties"]["probe"].update(minProperties=1, maxProperties=1)
    return _crd(healthcheck.GROUP, healthcheck.VERSION, spec,
                "A kubevigil HealthCheck: a schedule, one runner (probe, workflow, job, kuberhealthy), a remedy",
                ["khc"])


def crds() -> list[dict[str, Any]]:
    return [activemonitor_crd(), kubevigil_crd()]


def crds_yaml() -> str:
    """Both CRDs as one multi-document YAML (what `kubevigil checks crd` prints and deploy/crds/ holds)."""
    header = "# Generated by `kubevigil checks crd` from kubevigil/roles/checks/*.py; do not edit.\n"
    return header + "---\n".join(yaml.safe_dump(c, sort_keys=False, width=120) for c in crds())
