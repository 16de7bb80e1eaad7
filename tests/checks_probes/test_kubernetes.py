"""The `kubernetes` probe (and Secret-held headers) against the emulator with its workload simulator, over HTTPS."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from pydantic import ValidationError

from kubevigil.core.clock import SystemClock
from kubevigil.kube.client import connect
from kubevigil.kube.resources import by_kind
from kubevigil.roles.checks.probes import PROBES, KubernetesProbe, ProbeEnv, ProbeResult
from kubevigil.sim.cluster import Cluster
from tests.checks_probes.servers import SECRET_TOKEN
from tests.conditions import eventually

NS = "shop"
DEPLOYMENT, NAMESPACE, SECRET = by_kind("Deployment"), by_kind("Namespace"), by_kind("Secret")
CRD = by_kind("CustomResourceDefinition")


def deployment(name: str, replicas: int, **annotations: str) -> dict[str, object]:
    labels = {"app": name}
    return {"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": name, "namespace": NS,
                         "annotations": {"sim.kubevigil.io/ready-after": "250ms", **annotations}},
            "spec": {"replicas": replicas, "selector": {"matchLabels": labels},
                     "template": {"metadata": {"labels": labels},
                                  "spec": {"containers": [{"name": "app", "image": "nginx:1.27"}]}}}}


@pytest.fixture
async def kube(tmp_path: Path, http_session: aiohttp.ClientSession) -> AsyncIterator[ProbeEnv]:
    async with Cluster(workloads=True) as cluster:
        for i in range(2):
            cluster.add_node(f"node-{i}")
        api = await connect(str(cluster.write_kubeconfig(tmp_path / "kubeconfig")))
        try:
            await api.create(NAMESPACE, None, {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NS}})
            await api.create(DEPLOYMENT, NS, deployment("web", 2))
            await api.create(DEPLOYMENT, NS, deployment("broken", 1, **{"sim.kubevigil.io/scenario": "crashloop"}))
            yield ProbeEnv(api=api, clock=SystemClock(), http=http_session)
        finally:
            await api.aclose()


def probe(**params: object) -> KubernetesProbe:
    spec = PROBES["kubernetes"].model_validate({"api_version": "apps/v1", "kind": "Deployment", **params})
    assert isinstance(spec, KubernetesProbe)
    return spec


async def settles(spec: KubernetesProbe, env: ProbeEnv, ok: bool, saying: str = "") -> ProbeResult:
    """Run the probe until it gives `ok` with `saying` in its message (the simulator needs a few seconds to move)."""
    async def run() -> ProbeResult | None:
        result = await spec.run(env, timeout=10)
        return result if result.ok is ok and saying in result.message else None

    found = await eventually(run, timeout=60, interval=0.2)
    assert isinstance(found, ProbeResult)
    return found


async def test_deployment_available_and_not(kube: ProbeEnv) -> None:
    web = await settles(probe(namespace=NS, name="web", condition="Available"), kube, ok=True)
    assert web.message == "Deployment shop/web: has condition Available=True"
    assert web.values == {"objects": 1.0, "matching": 1.0}
    broken = await settles(probe(namespace=NS, name="broken", condition="Available=True"), kube, ok=False,
                           saying="is False")
    assert broken.message == ("Deployment shop/broken: mismatch: condition Available is False, expected True "
                              "(MinimumReplicasUnavailable: Deployment does not have minimum availability.)")


async def test_field_comparison(kube: ProbeEnv) -> None:
    spec = probe(namespace=NS, name="web", field={"path": "status.readyReplicas", "op": ">=", "value": 2})
    result = await settles(spec, kube, ok=True)
    assert result.message == "Deployment shop/web: has status.readyReplicas >= 2"
    too_many = probe(namespace=NS, name="web", field={"path": ".status.readyReplicas", "op": ">=", "value": 5})
    result = await too_many.run(kube, timeout=10)
    assert not result.ok
    assert result.message == "Deployment shop/web: mismatch: .status.readyReplicas is 2, expected >= 5"


async def test_no_pod_in_crashloop_under_a_selector(kube: ProbeEnv) -> None:
    crashloop = {"path": "status.containerStatuses[*].state.waiting.reason", "value": "CrashLoopBackOff"}
    pods = {"api_version": "v1", "kind": "Pod", "namespace": NS, "objects": "none", "field": crashloop}
    broken = await settles(probe(**{**pods, "selector": "app=broken"}), kube, ok=False)
    assert broken.message.startswith("Pod objects matching app=broken in shop: mismatch: shop/broken-")
    assert broken.message.endswith(" (1 of 1): has status.containerStatuses[*].state.waiting.reason == CrashLoopBackOff")
    healthy = await settles(probe(**{**pods, "selector": "app=web", "min_objects": 2}), kube, ok=True)
    assert healthy.message.endswith(": 0 of 2 have status.containerStatuses[*].state.waiting.reason == CrashLoopBackOff")
    everywhere = await probe(**{**pods, "namespace": None}).run(kube, timeout=10)  # every namespace
    assert not everywhere.ok and everywhere.values["objects"] == 3


async def test_any_and_all_over_a_list(kube: ProbeEnv) -> None:
    await settles(probe(namespace=NS, name="web", condition="Available"), kube, ok=True)
    await settles(probe(namespace=NS, name="broken", condition="Available=False"), kube, ok=True)
    all_ = await probe(namespace=NS, condition="Available").run(kube, 10)
    assert not all_.ok and all_.message.startswith("Deployment objects in shop: mismatch: shop/broken (1 of 2): ")
    any_ = await probe(namespace=NS, condition="Available", objects="any").run(kube, 10)
    assert any_.ok and any_.message.endswith(": 1 of 2 have condition Available=True")


async def test_not_found_and_empty_selection(kube: ProbeEnv) -> None:
    missing = await probe(namespace=NS, name="nope", condition="Available").run(kube, 10)
    assert missing.message == "Deployment shop/nope: mismatch: not found"
    none = await probe(namespace=NS, selector="app=nope").run(kube, 10)
    assert none.message == "Deployment objects matching app=nope in shop: mismatch: found 0, expected at least 1"
    absent_ok = await probe(namespace=NS, selector="app=nope", objects="none").run(kube, 10)
    assert absent_ok.ok and absent_ok.message.endswith(": found 0")


async def test_custom_resource_through_discovery(kube: ProbeEnv) -> None:
    await kube.api.create(CRD, None, {
        "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
        "metadata": {"name": "widgets.probe.test"},
        "spec": {"group": "probe.test", "scope": "Namespaced",
                 "names": {"plural": "widgets", "singular": "widget", "kind": "Widget"},
                 "versions": [{"name": "v1", "served": True, "storage": True,
                               "schema": {"openAPIV3Schema": {"type": "object",
                                                              "x-kubernetes-preserve-unknown-fields": True}}}]}})
    widgets = await kube.api.resource_for("probe.test/v1", "Widget")
    await kube.api.create(widgets, NS, {"apiVersion": "probe.test/v1", "kind": "Widget", "metadata": {"name": "w"},
                                        "spec": {"labels": {"app.kubernetes.io/name": "gear"}, "size": 3}})
    spec = PROBES["kubernetes"].model_validate({
        "api_version": "probe.test/v1", "kind": "Widget", "namespace": NS, "name": "w",
        "field": {"path": "spec.labels['app.kubernetes.io/name']", "value": "gear"}})
    result = await spec.run(kube, timeout=10)
    assert result.ok, result.message
    unknown = await PROBES["kubernetes"].model_validate(
        {"api_version": "probe.test/v1", "kind": "Gadget", "namespace": NS, "name": "g"}).run(kube, 10)
    assert unknown.message == "Gadget shop/g: kubernetes: probe.test/v1 Gadget is not served by the API server"


async def test_namespaced_kind_by_name_needs_a_namespace(kube: ProbeEnv) -> None:
    result = await probe(name="web").run(kube, 10)
    assert result.message == "Deployment web: config: a namespaced Deployment needs `namespace` to be found by name"


async def test_api_server_unreachable(env: ProbeEnv) -> None:
    result = await probe(namespace=NS, name="web").run(env, timeout=10)  # `env` has a client for a closed port
    assert not result.ok
    assert result.message == "Deployment shop/web: kubernetes: cannot reach the API server (cannot connect: Connection refused)"


async def test_http_header_from_a_secret(kube: ProbeEnv, web_url: str) -> None:
    token = base64.b64encode(f"{SECRET_TOKEN}\n".encode()).decode()
    await kube.api.create(SECRET, NS, {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "api-token"},
                                       "data": {"token": token}})
    ref = {"secret": "api-token", "namespace": NS, "key": "token", "prefix": "Bearer "}
    http = PROBES["http"]
    result = await http.model_validate({"url": f"{web_url}/private", "headers": {"Authorization": ref}}).run(kube, 10)
    assert result.ok, result.message
    wrong_key = {**ref, "key": "nope"}
    result = await http.model_validate({"url": f"{web_url}/private", "headers": {"Authorization": wrong_key}}).run(
        kube, 10)
    assert result.message.endswith(": config: Secret shop/api-token has no key 'nope'")
    missing = {**ref, "secret": "gone"}
    result = await http.model_validate({"url": f"{web_url}/private", "headers": {"Authorization": missing}}).run(
        kube, 10)
    assert result.message.endswith(": config: Secret shop/gone not found")
    assert SECRET_TOKEN not in result.message


@pytest.mark.parametrize(("params", "says"), [
    ({"name": "a", "selector": "app=a"}, "give name or selector, not both"),
    ({"condition": "Available", "field": {"path": "a", "value": 1}}, "give condition or field, not both"),
    ({"condition": "Available=Maybe"}, "is not Type or Type=True|False|Unknown"),
    ({"selector": "app in (a"}, "selector"),
    ({"field": {"path": "a..b", "value": 1}}, "cannot read the path"),
    ({"field": {"path": "a", "op": ">"}}, "needs a value"),
    ({"field": {"path": "a", "op": ">", "value": "x"}}, "compares numbers"),
    ({"field": {"path": "a", "op": "exists", "value": 1}}, "takes no value"),
])
def test_bad_params(params: dict[str, object], says: str) -> None:
    with pytest.raises(ValidationError, match=says):
        probe(**params)
