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


# --- issue 9 §3: every typed command with kubectl's defaults (protobuf bodies, WatchList) -------------------------

async def test_create_typed_objects_with_protobuf_bodies(live_kubectl: Kubectl, live_cluster: Cluster) -> None:
    k = live_kubectl
    expected = [
        (("create", "namespace", "shop"), "namespace/shop created"),
        (("create", "deployment", "web", "--image=nginx:1.27", "--port=80", "--replicas=2"),
         "deployment.apps/web created"),
        (("create", "configmap", "cm", "--from-literal=a=b"), "configmap/cm created"),
        (("create", "secret", "generic", "s", "--from-literal=password=hunter2"), "secret/s created"),
        (("create", "job", "once", "--image=busybox"), "job.batch/once created"),
        (("create", "cronjob", "nightly", "--image=busybox", "--schedule=0 3 * * *"), "cronjob.batch/nightly created"),
        (("create", "service", "clusterip", "api", "--tcp=80:8080"), "service/api created"),
        (("create", "serviceaccount", "robot"), "serviceaccount/robot created"),
        (("create", "role", "reader", "--verb=get,list,watch", "--resource=pods,pods/log"),
         "role.rbac.authorization.k8s.io/reader created"),
        (("create", "rolebinding", "robot-reads", "--role=reader", "--serviceaccount=default:robot"),
         "rolebinding.rbac.authorization.k8s.io/robot-reads created"),
        (("run", "solo", "--image=nginx:1.27", "--labels=app=solo"), "pod/solo created"),
        (("expose", "deployment", "web", "--port=80"), "service/web exposed"),
        (("label", "deployment", "web", "tier=front"), "deployment.apps/web labeled"),
        (("annotate", "deployment", "web", "owner=team-a"), "deployment.apps/web annotated"),
    ]
    for args, line in expected:
        assert (await k.out(*args)).strip() == line, args
    store = live_cluster.store
    secret = store.get(store.resource("v1", "Secret"), "default", "s")
    assert secret["data"] == {"password": "aHVudGVyMg=="} and secret["type"] == "Opaque"
    deploy = store.get(store.resource("apps/v1", "Deployment"), "default", "web")
    assert deploy["spec"]["replicas"] == 2 and deploy["metadata"]["labels"] == {"app": "web", "tier": "front"}
    assert deploy["spec"]["template"]["spec"]["containers"][0]["ports"] == [{"containerPort": 80}]
    cron = store.get(store.resource("batch/v1", "CronJob"), "default", "nightly")
    assert cron["spec"]["schedule"] == "0 3 * * *"
    role = store.get(store.resource("rbac.authorization.k8s.io/v1", "Role"), "default", "reader")
    assert role["rules"] == [{"verbs": ["get", "list", "watch"], "apiGroups": [""], "resources": ["pods", "pods/log"]}]
    svc = json.loads(await k.out("get", "service", "api", "-o", "json"))
    assert svc["spec"]["clusterIP"].startswith("127.3.") and svc["spec"]["ports"][0]["targetPort"] == 8080


async def test_scale_rollout_wait_and_undo(live_kubectl: Kubectl, live_cluster: Cluster) -> None:
    k = live_kubectl
    await k.out("create", "deployment", "web", "--image=nginx:1.27", "--replicas=1")
    assert (await k.out("scale", "deployment", "web", "--replicas=3")).strip() == "deployment.apps/web scaled"
    out = await k.out("rollout", "status", "deployment/web", "--timeout=60s")
    assert out.strip().endswith('deployment "web" successfully rolled out')
    assert "deployment.apps/web condition met" in await k.out(
        "wait", "--for=condition=Available", "deployment/web", "--timeout=60s")
    scale = json.loads(await k.out("get", "--raw", "/apis/apps/v1/namespaces/default/deployments/web/scale"))
    assert scale["kind"] == "Scale" and scale["spec"] == {"replicas": 3} and scale["status"]["replicas"] == 3
    assert scale["status"]["selector"] == "app=web"
    assert (await k.out("set", "image", "deployment/web", "nginx=nginx:1.28")).strip() == \
        "deployment.apps/web image updated"
    await k.out("rollout", "status", "deployment/web", "--timeout=60s")
    assert (await k.out("rollout", "restart", "deployment/web")).strip() == "deployment.apps/web restarted"
    await k.out("rollout", "status", "deployment/web", "--timeout=60s")
    assert (await k.out("rollout", "undo", "deployment/web")).strip() == "deployment.apps/web rolled back"
    await k.out("rollout", "status", "deployment/web", "--timeout=60s")
    described = await k.out("describe", "deployment", "web")
    assert "Replicas:" in described and "3 desired | 3 updated | 3 total | 3 available" in described
    assert "ScalingReplicaSet" in described


async def test_cordon_drain_evicts_through_policy_v1(live_kubectl: Kubectl, live_cluster: Cluster) -> None:
    k = live_kubectl
    await k.out("create", "deployment", "web", "--image=nginx:1.27", "--replicas=2")
    await k.out("rollout", "status", "deployment/web", "--timeout=60s")
    assert (await k.out("cordon", "node-1")).strip() == "node/node-1 cordoned"
    assert "SchedulingDisabled" in await k.out("get", "node", "node-1")
    assert (await k.out("uncordon", "node-1")).strip() == "node/node-1 uncordoned"
    out = await k.out("drain", "node-1", "--ignore-daemonsets", "--timeout=60s")
    assert "node/node-1 cordoned" in out and "evicting pod default/web-" in out and "node/node-1 drained" in out
    await k.out("rollout", "status", "deployment/web", "--timeout=60s")
    pods = json.loads(await k.out("get", "pods", "-o", "json"))["items"]
    assert pods and all(p["spec"]["nodeName"] == "node-2" for p in pods)
    # A budget that allows no disruption: the eviction is refused with 429, as drain reports it.
    await k.out("uncordon", "node-1")
    await k.out("create", "poddisruptionbudget", "keep", "--selector=app=web", "--min-available=2")
    code, _, err = await k.run("drain", "node-2", "--ignore-daemonsets", "--timeout=3s", check=False)
    assert code != 0 and "Cannot evict pod as it would violate the pod's disruption budget" in err


async def test_logs_delete_top_and_auth(live_kubectl: Kubectl, live_cluster: Cluster) -> None:
    k = live_kubectl
    await k.out("run", "solo", "--image=nginx:1.27", "--port=8080")
    await k.out("wait", "--for=condition=Ready", "pod/solo", "--timeout=60s")
    assert (await k.out("logs", "solo")).strip() == "solo started, listening on :8080"
    stamped = (await k.out("logs", "solo", "--timestamps")).strip()
    assert stamped.endswith(" solo started, listening on :8080") and stamped[:4].isdigit()
    code, _, err = await k.run("logs", "solo", "--previous", check=False)
    assert code == 1 and 'previous terminated container "solo" in pod "solo" not found' in err
    pod = json.loads(await k.out("get", "pod", "solo", "-o", "json"))
    assert pod["status"]["podIP"].startswith("127.1.") and pod["status"]["hostIP"].startswith("127.2.")
    code, _, err = await k.run("top", "nodes", check=False)
    assert code == 1 and "Metrics API not available" in err
    assert (await k.out("auth", "can-i", "delete", "nodes")).strip() == "yes"
    assert (await k.out("delete", "pod", "solo", "--wait=false")).strip() == 'pod "solo" deleted from default namespace'


async def test_rbac_tokens_with_kubectl(live_kubectl: Kubectl, live_cluster: Cluster, tmp_path: Path) -> None:
    k = live_kubectl
    await k.out("create", "serviceaccount", "robot")
    await k.out("create", "role", "reader", "--verb=get,list", "--resource=pods")
    await k.out("create", "rolebinding", "robot-reads", "--role=reader", "--serviceaccount=default:robot")
    sa = "--as=system:serviceaccount:default:robot"
    assert (await k.out("auth", "can-i", "list", "pods", sa)).strip() == "yes"
    code, out, _ = await k.run("auth", "can-i", "delete", "pods", sa, check=False)
    assert code == 1 and out.strip() == "no"
    code, out, _ = await k.run("auth", "can-i", "list", "pods", "-n", "kube-system", sa, check=False)
    assert out.strip() == "no"
    token = (await k.out("create", "token", "robot")).strip()
    assert token.count(".") == 2
    assert (await k.out(f"--token={token}", "auth", "whoami")).splitlines()[1].split() == [
        "Username", "system:serviceaccount:default:robot"]
    await k.out(f"--token={token}", "get", "pods")
    code, _, err = await k.run(f"--token={token}", "get", "secrets", check=False)
    assert code == 1 and err.strip() == ('Error from server (Forbidden): secrets is forbidden: User '
                                         '"system:serviceaccount:default:robot" cannot list resource "secrets" in '
                                         'API group "" in the namespace "default"')
    code, _, err = await k.run("--token", "not-a-token", "get", "pods", check=False)
    assert code == 1 and "Unauthorized" in err


JOB_WITH_OUTPUT = """apiVersion: batch/v1
kind: Job
metadata:
  name: probe
  annotations: {sim.kubevigil.io/logs: "checking\\nlatency_ms 42\\ndone", sim.kubevigil.io/duration: 3s}
spec:
  backoffLimit: 0
  template:
    spec:
      restartPolicy: Never
      containers: [{name: check, image: busybox}]
"""
CRASHER = """apiVersion: v1
kind: Pod
metadata: {name: crasher, annotations: {sim.kubevigil.io/scenario: crashloop}}
spec: {containers: [{name: app, image: busybox}]}
"""


async def test_logs_follow_tail_and_previous(live_kubectl: Kubectl, live_cluster: Cluster) -> None:
    k = live_kubectl
    await k.out("apply", "-f", "-", stdin=JOB_WITH_OUTPUT)
    # -f follows the container until it exits (the Job's pod runs 3 s).
    followed = await k.out("logs", "-f", "job/probe", "--pod-running-timeout=60s")
    assert followed.splitlines() == ["checking", "latency_ms 42", "done"]
    assert (await k.out("logs", "job/probe", "--tail=1")).strip() == "done"
    await k.out("wait", "--for=condition=Complete", "job/probe", "--timeout=60s")
    await k.out("apply", "-f", "-", stdin=CRASHER)
    for _ in range(600):
        code, out, _ = await k.run("logs", "crasher", "--previous", check=False)
        if code == 0:
            break
        await asyncio.sleep(0.1)
    assert out.splitlines() == ["starting app", "fatal: cannot start: exiting with code 1"]
