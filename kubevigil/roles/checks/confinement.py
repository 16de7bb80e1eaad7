"""What a built-in probe may reach with kubevigil's own credentials, decided before it first runs.

A probe runs inside kubevigil, so it reads with kubevigil's ServiceAccount, which can read more than a HealthCheck's
author may. So a probe may take header values only from Secrets in its HealthCheck's own namespace (and only when
`checks.probes.secrets` is on), may not present kubevigil's own files as a client certificate, and the `kubernetes`
probe may read only the resources in `checks.probes.resources` (what kubevigil's ClusterRole grants for it).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from pydantic import BaseModel

from kubevigil.kube.errors import REQUEST_ERRORS, ApiError
from kubevigil.kube.resources import Resource
from kubevigil.roles.checks.config import ProbeAccess
from kubevigil.roles.checks.probes import KubernetesProbe, ProbeSpec
from kubevigil.roles.checks.probes.headers import SecretKeyRef
from kubevigil.sinks.http_post import TlsParams


def refusal(name: str, spec: ProbeSpec, namespace: str, access: ProbeAccess) -> str:
    """Why probe `name` of a HealthCheck in `namespace` may not run as written ('' when it may)."""
    where = f"spec.probe.{name}"
    for path, value in _walk(spec):
        if isinstance(value, SecretKeyRef):
            if not access.secrets:
                return (f"{where}.{path}: probes may not read Secrets here (checks.probes.secrets is off in "
                        "kubevigil's config); give the value in the spec or ask the admin to enable it")
            if value.namespace != namespace:
                return (f"{where}.{path}: Secret {value.namespace}/{value.secret} is outside this HealthCheck's "
                        f"namespace {namespace}; a probe may read Secrets of its own namespace only")
        if isinstance(value, TlsParams) and (value.cert_file or value.key_file):
            return (f"{where}.{path}: cert_file/key_file would present kubevigil's own files as a client "
                    "certificate; not allowed in a HealthCheck")
    return ""


def _walk(node: Any, path: str = "") -> Iterator[tuple[str, Any]]:
    """Every model, mapping value and list item under `node`, with its dotted path."""
    if isinstance(node, BaseModel):
        if path:
            yield path, node
        for field in type(node).model_fields:
            yield from _walk(getattr(node, field), f"{path}.{field}" if path else field)
    elif isinstance(node, dict):
        for key, value in node.items():
            yield from _walk(value, f"{path}.{key}")
    elif isinstance(node, list | tuple):
        for i, value in enumerate(node):
            yield from _walk(value, f"{path}[{i}]")
    elif path:
        yield path, node


def resource_name(res: Resource) -> str:
    """How kubectl and `checks.probes.resources` name a resource: plural, or plural.group."""
    return f"{res.plural}.{res.group}" if res.group else res.plural


async def resource_refusal(api: Any, spec: ProbeSpec, access: ProbeAccess) -> str | None:
    """For the `kubernetes` probe: why it may not read what it names ('' when it may); None when the API server
    does not serve that kind (yet), so the question stays open and the run reports it."""
    if not isinstance(spec, KubernetesProbe):
        return ""
    try:
        res = await api.resource_for(spec.api_version, spec.kind)
    except (KeyError, ApiError, *REQUEST_ERRORS):
        return None
    name = resource_name(res)
    if name in access.resources:
        return ""
    return (f"spec.probe.kubernetes: {spec.kind} ({name}) is not a resource probes may read; kubevigil's "
            "checks.probes.resources lists those it may")
