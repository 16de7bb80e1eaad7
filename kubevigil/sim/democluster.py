"""The demo's cluster: three EKS-like nodes and a handful of workloads, some healthy and some broken on purpose."""

from __future__ import annotations

from typing import Any

from kubevigil.core.clock import Clock
from kubevigil.kube.resources import by_kind
from kubevigil.sim.eventrecorder import rfc3339
from kubevigil.sim.scenarios import CRASHLOOP, IMAGEPULL, JOB_FAIL, SCENARIO

REGION = "eu-west-1"
ECR = f"602401143452.dkr.ecr.{REGION}.amazonaws.com"
DEMO_NODES = (("ip-10-0-1-11", "127.2.1.11", "a", "i-0a1b2c3d4e5f60011"),
              ("ip-10-0-2-12", "127.2.2.12", "b", "i-0a1b2c3d4e5f60012"),
              ("ip-10-0-3-13", "127.2.3.13", "c", "i-0a1b2c3d4e5f60013"))


def node_manifest(host: str, ip: str, zone: str, instance_id: str, now: float,
                  instance_type: str = "m5.large", nodegroup: str = "default") -> dict:
    """A Ready EKS managed-node-group Node as its kubelet registers it."""
    name = f"{host}.{REGION}.compute.internal"
    ts = rfc3339(now)
    az = f"{REGION}{zone}"

    def cond(type_: str, status: str, reason: str, message: str) -> dict:
        return {"type": type_, "status": status, "lastHeartbeatTime": ts, "lastTransitionTime": ts,
                "reason": reason, "message": message}

    return {
        "apiVersion": "v1", "kind": "Node",
        "metadata": {"name": name, "labels": {
            "kubernetes.io/hostname": name, "kubernetes.io/os": "linux", "kubernetes.io/arch": "amd64",
            "beta.kubernetes.io/os": "linux", "beta.kubernetes.io/arch": "amd64",
            "beta.kubernetes.io/instance-type": instance_type, "node.kubernetes.io/instance-type": instance_type,
            "topology.kubernetes.io/region": REGION, "topology.kubernetes.io/zone": az,
            "failure-domain.beta.kubernetes.io/region": REGION, "failure-domain.beta.kubernetes.io/zone": az,
            "eks.amazonaws.com/nodegroup": nodegroup, "eks.amazonaws.com/capacityType": "ON_DEMAND",
            "eks.amazonaws.com/nodegroup-image": "ami-0c2b8ca1dad447f8a", "k8s.io/cloud-provider-aws": "a8f3c1d"},
            "annotations": {"alpha.kubernetes.io/provided-node-ip": ip,
                            "node.alpha.kubernetes.io/ttl": "0",
                            "volumes.kubernetes.io/controller-managed-attach-detach": "true"}},
        "spec": {"providerID": f"aws:///{az}/{instance_id}"},
        "status": {
            "conditions": [
                cond("MemoryPressure", "False", "KubeletHasSufficientMemory", "kubelet has sufficient memory available"),
                cond("DiskPressure", "False", "KubeletHasNoDiskPressure", "kubelet has no disk pressure"),
                cond("PIDPressure", "False", "KubeletHasSufficientPID", "kubelet has sufficient PID available"),
                cond("Ready", "True", "KubeletReady", "kubelet is posting ready status"),
            ],
            "addresses": [{"type": "InternalIP", "address": ip}, {"type": "InternalDNS", "address": name},
                          {"type": "Hostname", "address": name}],
            "capacity": {"cpu": "2", "ephemeral-storage": "83873772Ki", "hugepages-1Gi": "0", "hugepages-2Mi": "0",
                         "memory": "7910348Ki", "pods": "29"},
            "allocatable": {"cpu": "1930m", "ephemeral-storage": "76224326324", "hugepages-1Gi": "0",
                            "hugepages-2Mi": "0", "memory": "7220172Ki", "pods": "29"},
            "daemonEndpoints": {"kubeletEndpoint": {"Port": 10250}},
            "nodeInfo": {"architecture": "amd64", "bootID": f"{instance_id[-8:]}-5c1e-4e6a-9d2b-3f0e7a1c9b42",
                         "containerRuntimeVersion": "containerd://1.7.22",
                         "kernelVersion": "6.1.109-118.189.amzn2023.x86_64", "kubeProxyVersion": "v1.30.4-eks-a737599",
                         "kubeletVersion": "v1.30.4-eks-a737599", "machineID": f"ec2{instance_id[2:]}0000000000000",
                         "operatingSystem": "linux", "osImage": "Amazon Linux 2023.5.20240916",
                         "systemUUID": f"ec2{instance_id[2:10]}-0000-0000-0000-{instance_id[-12:]}"},
        },
    }


def _container(name: str, image: str, port: int, probe_path: str = "/healthz") -> dict:
    return {"name": name, "image": image, "ports": [{"containerPort": port, "name": "http", "protocol": "TCP"}],
            "resources": {"requests": {"cpu": "50m", "memory": "64Mi"}, "limits": {"memory": "256Mi"}},
            "readinessProbe": {"httpGet": {"path": probe_path, "port": port}, "periodSeconds": 10}}


def _deployment(namespace: str, name: str, replicas: int, image: str, port: int,
                labels: dict[str, str] | None = None, annotations: dict[str, str] | None = None) -> dict:
    labels = labels or {"app.kubernetes.io/name": name, "app.kubernetes.io/part-of": namespace}
    meta: dict = {"name": name, "namespace": namespace, "labels": dict(labels)}
    if annotations:
        meta["annotations"] = annotations
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": meta,
            "spec": {"replicas": replicas, "selector": {"matchLabels": dict(labels)},
                     "template": {"metadata": {"labels": dict(labels)},
                                  "spec": {"containers": [_container(name, image, port)]}}}}


def demo_manifests() -> list[dict]:
    """Namespaces and workloads of the demo cluster, in apply order."""
    objs: list[dict] = [{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}}
                        for ns in ("shop", "monitoring", "batch")]
    dns = {"k8s-app": "kube-dns", "eks.amazonaws.com/component": "coredns"}
    objs.append(_deployment("kube-system", "coredns", 2, f"{ECR}/eks/coredns:v1.11.3-eksbuild.1", 8080, dns))
    node_labels = {"k8s-app": "aws-node"}
    cni = _container("aws-node", f"{ECR}/amazon-k8s-cni:v1.18.5-eksbuild.1", 61678)
    cni["readinessProbe"] = {"exec": {"command": ["/app/grpc-health-probe", "-addr=:50051"]}, "periodSeconds": 10}
    objs.append({"apiVersion": "apps/v1", "kind": "DaemonSet",
                 "metadata": {"name": "aws-node", "namespace": "kube-system", "labels": dict(node_labels)},
                 "spec": {"selector": {"matchLabels": dict(node_labels)},
                          "updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": "10%"}},
                          "template": {"metadata": {"labels": dict(node_labels)},
                                       "spec": {"hostNetwork": True, "priorityClassName": "system-node-critical",
                                                "serviceAccountName": "aws-node", "containers": [cni]}}}})
    prom = {"app.kubernetes.io/name": "prometheus"}
    objs.append({"apiVersion": "apps/v1", "kind": "StatefulSet",
                 "metadata": {"name": "prometheus", "namespace": "monitoring", "labels": dict(prom)},
                 "spec": {"replicas": 1, "serviceName": "prometheus", "selector": {"matchLabels": dict(prom)},
                          "template": {"metadata": {"labels": dict(prom)}, "spec": {"containers": [
                              _container("prometheus", "quay.io/prometheus/prometheus:v2.54.1", 9090, "/-/ready")]}}}})
    objs.append(_deployment("monitoring", "grafana", 1, "docker.io/grafana/grafana:11.2.0", 3000,
                            annotations=None))
    objs.append(_deployment("shop", "frontend", 3, "nginx:1.27.1", 8080))
    objs.append(_deployment("shop", "cart", 2, "ghcr.io/example-shop/cart:1.8.2", 8080))
    objs.append(_deployment("shop", "checkout", 2, "ghcr.io/example-shop/checkout:2.3.0", 8080,
                            annotations={SCENARIO: CRASHLOOP}))
    objs.append(_deployment("shop", "payments", 1, "ghcr.io/example-shop/payments:v4.0.0-rc1", 8080,
                            annotations={SCENARIO: IMAGEPULL}))
    job_pod = {"restartPolicy": "Never", "containers": [
        {"name": "report", "image": "ghcr.io/example-shop/report:1.2.0", "args": ["--since=1m"]}]}
    objs.append({"apiVersion": "batch/v1", "kind": "CronJob",
                 "metadata": {"name": "report", "namespace": "batch", "annotations": {"sim.kubevigil.io/duration": "20s"}},
                 "spec": {"schedule": "* * * * *", "concurrencyPolicy": "Forbid",
                          "successfulJobsHistoryLimit": 3, "failedJobsHistoryLimit": 1,
                          "jobTemplate": {"spec": {"backoffLimit": 2, "template": {"spec": job_pod}}}}})
    objs.append({"apiVersion": "batch/v1", "kind": "Job",
                 "metadata": {"name": "migrate", "namespace": "batch", "annotations": {SCENARIO: JOB_FAIL}},
                 "spec": {"backoffLimit": 1, "template": {"spec": {"restartPolicy": "Never", "containers": [
                     {"name": "migrate", "image": "ghcr.io/example-shop/migrate:3.1.0",
                      "args": ["up", "--to=42"]}]}}}})
    return objs


async def seed_demo_cluster(store: Any, clock: Clock) -> None:
    """Create the demo nodes and workloads in `store`; objects that already exist are left as they are."""
    now = clock.now()
    for host, ip, zone, instance in DEMO_NODES:
        _create_absent(store, node_manifest(host, ip, zone, instance, now))
    for obj in demo_manifests():
        _create_absent(store, obj)


def _create_absent(store: Any, obj: dict) -> None:
    res = by_kind(obj["kind"], obj["apiVersion"])
    meta = obj["metadata"]
    if store.try_get(res, meta.get("namespace"), meta["name"]) is None:
        store.create(res, obj)
