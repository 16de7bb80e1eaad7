"""The checks role in `kubevigil demo`: its config section, and the objects it seeds in the emulator.

`setup(env)` applies both HealthCheck CRDs and a minimal Argo Workflow CRD, then seeds one check of each kind of
runner that the emulator can play: an active-monitor Workflow check, a kubevigil Job check, a kuberhealthy check
(the emulator's pods do not speak the protocol: it fails honestly with "exited without reporting"), and a failing
check whose remedy fixes it (a Deployment scaled to 0; the remedy scales it to 1; the next run passes and the
remedy count resets). See them with `kubectl get hc -A`. "Run now" needs a token: setup puts one in a Secret (the
section's `api_token`) and a copy in <out>/token for the web page's token field.
"""

from __future__ import annotations

import base64
import contextlib
import secrets
from collections.abc import AsyncIterator
from typing import Any

import yaml

from kubevigil.kube.client import KubeApi
from kubevigil.kube.errors import ApiError
from kubevigil.kube.resources import Resource, by_kind
from kubevigil.roles.checks.crd import crds
from kubevigil.roles.role import DemoEnvironment

NAMESPACE = "health"
TOKEN_SECRET = ("default", "kubevigil-demo-token")  # (namespace, name) of the run-now token

ARGO_WORKFLOW_CRD: dict[str, Any] = {
    "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
    "metadata": {"name": "workflows.argoproj.io"},
    "spec": {"group": "argoproj.io", "scope": "Namespaced",
             "names": {"kind": "Workflow", "listKind": "WorkflowList", "plural": "workflows", "singular": "workflow",
                       "shortNames": ["wf"]},
             "versions": [{"name": "v1alpha1", "served": True, "storage": True, "subresources": {},
                           "additionalPrinterColumns": [
                               {"name": "Status", "type": "string", "jsonPath": ".status.phase"},
                               {"name": "Age", "type": "date", "jsonPath": ".status.startedAt"}],
                           "schema": {"openAPIV3Schema": {"type": "object",
                                                          "x-kubernetes-preserve-unknown-fields": True}}}]},
}


def _workflow(annotations: dict[str, str]) -> str:
    return yaml.safe_dump({
        "apiVersion": "argoproj.io/v1alpha1", "kind": "Workflow",
        "metadata": {"generateName": "demo-", "annotations": annotations},
        "spec": {"entrypoint": "main", "templates": [{"name": "main", "container": {
            "image": "busybox", "command": ["sh", "-c", "wget -qO- http://web.health.svc/ >/dev/null"]}}]},
    })


def section(sink_names: dict[str, str]) -> dict[str, Any]:
    """The demo's `checks:` section; `sink_names` may name a `records` and a `metrics` sink."""
    sinks = {kind: [sink_names[kind]] for kind in ("records", "metrics") if kind in sink_names}
    return {"jitter": 0.05, "run_ttl": "10m", "sinks": sinks,
            "api_token": {"namespace": TOKEN_SECRET[0], "secret": TOKEN_SECRET[1]}}


def healthchecks() -> list[dict[str, Any]]:
    """The demo's HealthCheck objects."""
    hello = {
        "apiVersion": "activemonitor.keikoproj.io/v1alpha1", "kind": "HealthCheck",
        "metadata": {"name": "inline-hello", "namespace": NAMESPACE},
        "spec": {"repeatAfterSec": 30, "level": "namespace", "workflow": {
            "generateName": "inline-hello-", "workflowtimeout": 60, "resource": {
                "namespace": NAMESPACE, "serviceAccount": "activemonitor-demo-sa",
                "source": {"inline": _workflow({"sim.kubevigil.io/duration": "3s"})}}}},
    }
    job = {
        "apiVersion": "kubevigil.io/v1", "kind": "HealthCheck",
        "metadata": {"name": "can-run-a-job", "namespace": NAMESPACE},
        "spec": {"schedule": {"cron": "*/2 * * * *"}, "timeout": "90s", "job": {"template": {
            "metadata": {"annotations": {"sim.kubevigil.io/duration": "3s"}},
            "spec": {"containers": [{"name": "check", "image": "busybox", "command": ["true"]}]}}}},
    }
    kuberhealthy = {
        "apiVersion": "kubevigil.io/v1", "kind": "HealthCheck",
        "metadata": {"name": "dns-kuberhealthy", "namespace": NAMESPACE},
        "spec": {"schedule": {"every": "2m"}, "timeout": "60s", "kuberhealthy": {"podSpec": {"containers": [
            {"name": "main", "image": "kuberhealthy/dns-resolution-check:v1.5.0",
             "env": [{"name": "HOSTNAME", "value": "kubernetes.default"}]}]}}},
    }
    web_up = {
        "apiVersion": "kubevigil.io/v1", "kind": "HealthCheck",
        "metadata": {"name": "web-available", "namespace": NAMESPACE},
        "spec": {"schedule": {"every": "20s"}, "timeout": "60s",
                 "workflow": {"source": {"inline": _workflow({
                     "sim.kubevigil.io/duration": "2s", "sim.kubevigil.io/requires": f"Deployment/{NAMESPACE}/web"})}},
                 "remedy": {"runsLimit": 3, "cooldown": "30s", "scale": {"name": "web", "replicas": 1}}},
    }
    return [hello, job, kuberhealthy, web_up]


@contextlib.asynccontextmanager
async def setup(env: DemoEnvironment) -> AsyncIterator[None]:
    """Seed the emulator through its API once the demo cluster runs: CRDs, a namespace, a Deployment, checks."""
    api = env.api
    crd = by_kind("CustomResourceDefinition")
    for obj in [*crds(), ARGO_WORKFLOW_CRD]:
        await _create_absent(api, crd, None, obj)
    await _create_absent(api, by_kind("Namespace"), None,
                         {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NAMESPACE}})
    await _create_absent(api, by_kind("Deployment"), NAMESPACE, {
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "namespace": NAMESPACE},
        "spec": {"replicas": 0, "selector": {"matchLabels": {"app": "web"}},
                 "template": {"metadata": {"labels": {"app": "web"}},
                              "spec": {"containers": [{"name": "web", "image": "nginx:1.27"}]}}}})
    for obj in healthchecks():
        res = await api.resource_for(obj["apiVersion"], "HealthCheck")
        await _create_absent(api, res, obj["metadata"].get("namespace"), obj)
    await seed_token(env)
    yield


async def seed_token(env: DemoEnvironment) -> None:
    """The run-now token: a Secret in the emulator, and a copy in <out>/token (owner-only) for the page."""
    token = secrets.token_urlsafe(24)
    namespace, name = TOKEN_SECRET
    await env.api.create(by_kind("Secret"), namespace, {
        "apiVersion": "v1", "kind": "Secret", "metadata": {"name": name, "namespace": namespace},
        "type": "Opaque", "data": {"token": base64.b64encode(token.encode()).decode()}})
    path = env.out / "token"
    path.touch(mode=0o600)
    path.write_text(token + "\n")


async def _create_absent(api: KubeApi, res: Resource, namespace: str | None, obj: dict[str, Any]) -> None:
    try:
        await api.create(res, namespace, obj)
    except ApiError as exc:
        if exc.status != 409:
            raise
