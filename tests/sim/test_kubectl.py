"""Fidelity: the kubectl session of issue 2 section 3, against the emulator over real sockets."""

from __future__ import annotations

import asyncio
import json
import sys
import time
from pathlib import Path
from typing import Any

from kubevigil.kube.resources import by_kind
from kubevigil.sim.cluster import Cluster

FIXTURES = Path(__file__).parent / "fixtures"
KUBECTL = str(Path(sys.executable).parent / "kubectl")
Kubectl = Any  # tests/sim/conftest.py's runner: run(*args, stdin=, check=) and out(*args, stdin=)

NS_HEALTH = "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: health\n"
POD = """apiVersion: v1
kind: Pod
metadata: {name: web-1, labels: {app: x}, finalizers: [example.com/hold]}
spec: {containers: [{name: web, image: nginx:1.27, ports: [{containerPort: 80}]}]}
"""


async def test_apply_healthcheck_crd_then_example(kubectl: Kubectl, cluster: Cluster) -> None:
    out = await kubectl.out("apply", "-f", str(FIXTURES / "activemonitor.keikoproj.io_healthchecks.yaml"))
    assert out.strip() == "customresourcedefinition.apiextensions.k8s.io/healthchecks.activemonitor.keikoproj.io created"
    await kubectl.out("apply", "-f", "-", stdin=NS_HEALTH)
    out = await kubectl.out("apply", "-f", str(FIXTURES / "inlineHello.yaml"))
    assert out.strip() == "healthcheck.activemonitor.keikoproj.io/inline-hello created"
    out = await kubectl.out("apply", "-f", str(FIXTURES / "inlineHello.yaml"))
    assert out.strip() == "healthcheck.activemonitor.keikoproj.io/inline-hello unchanged"
    hc = cluster.store.get(cluster.store.resource("activemonitor.keikoproj.io/v1alpha1", "HealthCheck"),
                           "health", "inline-hello")
    assert hc["spec"]["schedule"] == {"cron": "@every 1m"} and hc["spec"]["level"] == "cluster"
    table = await kubectl.out("get", "healthchecks", "-n", "health")
    header = table.splitlines()[0].split()
    assert header[:3] == ["NAME", "LATEST", "STATUS"] and header[-1] == "AGE"
    assert table.splitlines()[1].startswith("inline-hello")
    resources = await kubectl.out("api-resources")
    line = next(ln for ln in resources.splitlines() if ln.startswith("healthchecks"))
    assert line.split() == ["healthchecks", "hc,hcs", "activemonitor.keikoproj.io/v1alpha1", "true", "HealthCheck"]


async def test_apply_kubenurse_daemonset_and_rbac(kubectl: Kubectl, cluster: Cluster) -> None:
    out = await kubectl.out("apply", "-f", str(FIXTURES / "kubenurse-rbac.yaml"))
    assert "clusterrole.rbac.authorization.k8s.io/kubenurse created" in out
    out = await kubectl.out("apply", "-f", str(FIXTURES / "kubenurse-daemonset.yaml"))
    assert out.strip() == "daemonset.apps/kubenurse created"
    ds = cluster.store.get(by_kind("DaemonSet"), "kube-system", "kubenurse")
    assert ds["spec"]["template"]["spec"]["serviceAccountName"] == "kubenurse"
    assert "kubectl.kubernetes.io/last-applied-configuration" in ds["metadata"]["annotations"]
    # A second apply with a changed field goes through kubectl's strategic-merge patch path.
    text = (FIXTURES / "kubenurse-daemonset.yaml").read_text().replace("https://kubenurse.example.com",
                                                                        "https://nurse.example.org")
    out = await kubectl.out("apply", "-f", "-", stdin=text)
    assert out.strip() == "daemonset.apps/kubenurse configured"
    ds2 = cluster.store.get(by_kind("DaemonSet"), "kube-system", "kubenurse")
    env = {e["name"]: e.get("value") for e in ds2["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert env["KUBENURSE_INGRESS_URL"] == "https://nurse.example.org"
    assert ds2["metadata"]["generation"] == 2
    table = await kubectl.out("get", "ds", "-n", "kube-system")
    assert table.splitlines()[0].split() == ["NAME", "DESIRED", "CURRENT", "READY", "UP-TO-DATE", "AVAILABLE",
                                             "NODE", "SELECTOR", "AGE"]


async def test_get_pods_by_label_as_json(kubectl: Kubectl) -> None:
    await kubectl.out("apply", "-f", "-", stdin=POD)
    await kubectl.out("apply", "-f", "-", stdin=POD.replace("web-1", "other").replace("app: x", "app: other"))
    data = json.loads(await kubectl.out("get", "pods", "-l", "app=x", "-o", "json"))
    assert data["kind"] == "List"
    assert [p["metadata"]["name"] for p in data["items"]] == ["web-1"]
    assert data["items"][0]["status"]["phase"] == "Pending"
    table = await kubectl.out("get", "pods")
    assert table.splitlines()[0].split() == ["NAME", "READY", "STATUS", "RESTARTS", "AGE"]
    assert table.splitlines()[2].split()[:4] == ["web-1", "0/1", "Pending", "0"]


async def test_get_watch_sees_later_change(kubectl: Kubectl) -> None:
    await kubectl.out("apply", "-f", "-", stdin=POD)
    proc = await asyncio.create_subprocess_exec(
        KUBECTL, "get", "pods", "--watch", env=kubectl.env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    assert proc.stdout is not None
    try:
        header = await asyncio.wait_for(proc.stdout.readline(), timeout=30)
        assert header.decode().split() == ["NAME", "READY", "STATUS", "RESTARTS", "AGE"]
        first = await asyncio.wait_for(proc.stdout.readline(), timeout=30)
        assert first.decode().split()[:3] == ["web-1", "0/1", "Pending"]
        await kubectl.out("delete", "pod", "web-1", "--wait=false")
        second = await asyncio.wait_for(proc.stdout.readline(), timeout=30)
        assert second.decode().split()[:3] == ["web-1", "0/1", "Terminating"]
    finally:
        proc.kill()
        await proc.wait()


async def test_patch_merge_json_strategic(kubectl: Kubectl, cluster: Cluster) -> None:
    await kubectl.out("apply", "-f", "-", stdin=POD)
    out = await kubectl.out("patch", "pod", "web-1", "--type=merge", "-p", '{"metadata":{"labels":{"b":"1"}}}')
    assert out.strip() == "pod/web-1 patched"
    await kubectl.out("patch", "pod", "web-1", "--type=json", "-p",
                      '[{"op":"add","path":"/metadata/labels/c","value":"2"}]')
    await kubectl.out("patch", "pod", "web-1", "--type=strategic", "-p",
                      '{"spec":{"containers":[{"name":"web","image":"nginx:1.28"}]}}')
    pod = cluster.store.get(by_kind("Pod"), "default", "web-1")
    assert pod["metadata"]["labels"] == {"app": "x", "b": "1", "c": "2"}
    # Strategic merge keeps the container's other fields (merged by name), unlike a merge patch.
    assert pod["spec"]["containers"] == [{"name": "web", "image": "nginx:1.28", "ports": [{"containerPort": 80}]}]
    code, _, err = await kubectl.run("patch", "pod", "web-1", "--type=json", "-p",
                                     '[{"op":"remove","path":"/metadata/nothere"}]', check=False)
    assert code != 0 and "is invalid" in err


async def test_delete_with_finalizer_pending(kubectl: Kubectl, cluster: Cluster) -> None:
    await kubectl.out("apply", "-f", "-", stdin=POD)
    out = await kubectl.out("delete", "pod", "web-1", "--wait=false")
    assert out.strip() == 'pod "web-1" deleted from default namespace'
    pod = cluster.store.get(by_kind("Pod"), "default", "web-1")
    assert pod["metadata"]["deletionTimestamp"]
    assert "Terminating" in await kubectl.out("get", "pod", "web-1")
    await kubectl.out("patch", "pod", "web-1", "--type=json", "-p", '[{"op":"remove","path":"/metadata/finalizers"}]')
    assert cluster.store.try_get(by_kind("Pod"), "default", "web-1") is None
    code, _, err = await kubectl.run("get", "pod", "web-1", check=False)
    assert code == 1 and 'pods "web-1" not found' in err


async def test_get_events_by_involved_object(kubectl: Kubectl, cluster: Cluster) -> None:
    ev = by_kind("Event")
    for i, name in enumerate(["web-1", "web-2"]):
        cluster.store.create(ev, {
            "metadata": {"name": f"{name}.17a", "namespace": "default"},
            "involvedObject": {"kind": "Pod", "namespace": "default", "name": name, "apiVersion": "v1"},
            "reason": "Pulled", "message": f"Successfully pulled image {i}", "type": "Normal", "count": 1,
            "firstTimestamp": "2024-01-01T00:00:00Z", "lastTimestamp": "2024-01-01T00:00:00Z",
            "source": {"component": "kubelet"}})
    out = await kubectl.out("get", "events", "--field-selector", "involvedObject.name=web-2")
    lines = out.splitlines()
    assert lines[0].split() == ["LAST", "SEEN", "TYPE", "REASON", "OBJECT", "MESSAGE"]
    assert len(lines) == 2 and "pod/web-2" in lines[1] and "Successfully pulled image 1" in lines[1]
    code, _, err = await kubectl.run("get", "events", "--field-selector", "spec.bogus=1", check=False)
    assert code == 1 and "field label not supported: spec.bogus" in err


async def test_kubectl_session_is_quick(kubectl: Kubectl) -> None:
    start = time.monotonic()
    await kubectl.out("get", "pods", "-A")
    assert time.monotonic() - start < 10
