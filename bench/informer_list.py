"""Benchmark: the informer's initial sync of 10,000 realistic EKS pods (~6 KB each) served by the emulator.

The emulator runs in a child process so the peak RSS printed is the informer's own. Prints one figure line.
Usage: .venv/bin/python bench/informer_list.py [--pods 10000] [--page-size 500]
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing as mp
import os
import resource
import sys
import tempfile
import time
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def realistic_pod(i: int, namespace: str = "workloads") -> dict[str, Any]:
    """A pod as EKS serves it: a ReplicaSet owner, two containers with env/mounts/resources, full status."""
    app = f"svc-{i % 97}"
    rs = f"{app}-7d9f8c6b5{i % 10}"
    name = f"{rs}-{i:05d}x"
    ts = f"2024-05-14T09:21:{i % 60:02d}Z"
    env = [{"name": f"ENV_VAR_{k}", "value": f"value-{k}-{i}"} for k in range(8)]
    env += [{"name": "POD_NAME", "valueFrom": {"fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.name"}}},
            {"name": "AWS_REGION", "value": "eu-west-1"},
            {"name": "AWS_ROLE_ARN", "value": "arn:aws:iam::111122223333:role/eks-app-role"},
            {"name": "AWS_WEB_IDENTITY_TOKEN_FILE",
             "value": "/var/run/secrets/eks.amazonaws.com/serviceaccount/token"}]
    mounts = [{"name": "kube-api-access-x7k2p", "readOnly": True,
               "mountPath": "/var/run/secrets/kubernetes.io/serviceaccount"},
              {"name": "aws-iam-token", "readOnly": True, "mountPath": "/var/run/secrets/eks.amazonaws.com/serviceaccount"},
              {"name": "config", "mountPath": "/etc/app"}]

    def container(cname: str, image: str, port: int) -> dict[str, Any]:
        return {"name": cname, "image": image, "imagePullPolicy": "IfNotPresent",
                "ports": [{"name": "http", "containerPort": port, "protocol": "TCP"}],
                "env": env, "volumeMounts": mounts,
                "resources": {"limits": {"cpu": "500m", "memory": "512Mi"},
                              "requests": {"cpu": "100m", "memory": "128Mi"}},
                "livenessProbe": {"httpGet": {"path": "/healthz", "port": port, "scheme": "HTTP"},
                                  "initialDelaySeconds": 10, "timeoutSeconds": 1, "periodSeconds": 10,
                                  "successThreshold": 1, "failureThreshold": 3},
                "terminationMessagePath": "/dev/termination-log", "terminationMessagePolicy": "File"}

    def cstatus(cname: str, image: str) -> dict[str, Any]:
        return {"name": cname, "state": {"running": {"startedAt": ts}}, "lastState": {}, "ready": True,
                "restartCount": i % 3, "image": image, "imageID": f"docker-pullable://{image}@sha256:{'ab' * 32}",
                "containerID": f"containerd://{'%064x' % (i * 7919 + len(cname))}", "started": True}

    img1 = f"111122223333.dkr.ecr.eu-west-1.amazonaws.com/{app}:1.{i % 20}.3"
    img2 = "public.ecr.aws/aws-observability/aws-for-fluent-bit:2.32.0"
    conds = [{"type": t, "status": "True", "lastProbeTime": None, "lastTransitionTime": ts}
             for t in ("Initialized", "Ready", "ContainersReady", "PodScheduled")]
    return {
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {
            "name": name, "generateName": f"{rs}-", "namespace": namespace,
            "labels": {"app": app, "app.kubernetes.io/name": app, "app.kubernetes.io/part-of": "shop",
                       "pod-template-hash": rs.rsplit("-", 1)[1], "team": f"team-{i % 7}", "tier": "backend"},
            "annotations": {"kubectl.kubernetes.io/restartedAt": ts, "prometheus.io/scrape": "true",
                            "prometheus.io/port": "9090",
                            "eks.amazonaws.com/compute-type": "ec2",
                            "checksum/config": f"{i * 104729:064x}"},
            "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": rs,
                                 "uid": f"{i % 97:08x}-1111-2222-3333-{i % 97:012x}", "controller": True,
                                 "blockOwnerDeletion": True}],
        },
        "spec": {
            "volumes": [{"name": "aws-iam-token", "projected": {"defaultMode": 420, "sources": [
                {"serviceAccountToken": {"audience": "sts.amazonaws.com", "expirationSeconds": 86400,
                                         "path": "token"}}]}},
                        {"name": "config", "configMap": {"name": f"{app}-config", "defaultMode": 420}},
                        {"name": "kube-api-access-x7k2p", "projected": {"defaultMode": 420, "sources": [
                            {"serviceAccountToken": {"expirationSeconds": 3607, "path": "token"}},
                            {"configMap": {"name": "kube-root-ca.crt", "items": [{"key": "ca.crt", "path": "ca.crt"}]}},
                            {"downwardAPI": {"items": [{"path": "namespace", "fieldRef": {
                                "apiVersion": "v1", "fieldPath": "metadata.namespace"}}]}}]}}],
            "containers": [container("app", img1, 8080), container("log-router", img2, 2020)],
            "restartPolicy": "Always", "terminationGracePeriodSeconds": 30, "dnsPolicy": "ClusterFirst",
            "serviceAccountName": app, "serviceAccount": app,
            "nodeName": f"ip-10-0-{i % 16}-{i % 250}.eu-west-1.compute.internal",
            "securityContext": {}, "schedulerName": "default-scheduler",
            "tolerations": [{"key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoExecute",
                             "tolerationSeconds": 300},
                            {"key": "node.kubernetes.io/unreachable", "operator": "Exists", "effect": "NoExecute",
                             "tolerationSeconds": 300}],
            "priority": 0, "enableServiceLinks": True, "preemptionPolicy": "PreemptLowerPriority",
        },
        "status": {
            "phase": "Running", "conditions": conds, "hostIP": f"10.0.{i % 16}.{i % 250}",
            "podIP": f"10.0.{(i >> 8) % 256}.{i % 256}", "podIPs": [{"ip": f"10.0.{(i >> 8) % 256}.{i % 256}"}],
            "startTime": ts, "qosClass": "Burstable",
            "containerStatuses": [cstatus("app", img1), cstatus("log-router", img2)],
        },
    }


def pin_to_cpu(cpu: int) -> None:
    """Run this process on one core only: the bench's two processes then never share a core."""
    if hasattr(os, "sched_setaffinity") and (os.cpu_count() or 1) > 1:
        os.sched_setaffinity(0, {cpu})


def serve_emulator(conn: Any, pods: int, kubeconfig: str, tls: bool = True) -> None:
    """Child process: run the emulator with `pods` pods, write a kubeconfig, serve until told to stop."""
    pin_to_cpu(1)
    from kubevigil.kube.resources import by_kind
    from kubevigil.sim.cluster import Cluster

    async def main() -> None:
        async with Cluster(workloads=False, tls=tls) as c:
            res = by_kind("Pod")
            if pods:
                c.store.create(by_kind("Namespace"), {"apiVersion": "v1", "kind": "Namespace",
                                                      "metadata": {"name": "workloads"}})
            for i in range(pods):
                body = realistic_pod(i)
                created = c.store.create(res, body)
                created["status"] = body["status"]  # create drops status, as a real API server does
                c.store.replace_status(res, created)
            c.write_kubeconfig(kubeconfig)
            conn.send(c.url)
            loop = asyncio.get_running_loop()
            await loop.run_in_executor(None, conn.recv)
            conn.send(resource.getrusage(resource.RUSAGE_SELF))
    asyncio.run(main())


def start_emulator(pods: int, kubeconfig: str, tls: bool = True) -> tuple[mp.Process, Any]:
    """Start the emulator in a child process; return once it serves (and has written the kubeconfig)."""
    parent, child = mp.Pipe()
    proc = mp.get_context("spawn").Process(target=serve_emulator, args=(child, pods, kubeconfig, tls),
                                           daemon=True)
    proc.start()
    if not parent.poll(300):
        raise SystemExit("emulator did not start within 300 s")
    parent.recv()
    return proc, parent


def stop_emulator(proc: mp.Process, conn: Any) -> Any:
    conn.send("stop")
    usage = conn.recv() if conn.poll(30) else None
    proc.join(10)
    return usage


async def bench(kubeconfig: str, page_size: int | None) -> dict[str, float]:
    import aiohttp
    import orjson
    from prometheus_client import CollectorRegistry

    from kubevigil.kube.client import connect
    from kubevigil.kube.informer import Informer
    from kubevigil.kube.resources import by_kind

    api = await connect(kubeconfig)
    session = api._session  # private on purpose: the bare fetch below must use the very same connection setup
    res = by_kind("Pod")
    # Warm the connection and the emulator's code paths before timing.
    await api.list(res, "default")
    inf = Informer(api, res, registry=CollectorRegistry(), page_size=page_size)
    t0 = time.perf_counter()
    task = asyncio.create_task(inf.run())
    await inf.synced.wait()
    sync_s = time.perf_counter() - t0
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    count = len(inf.cache)
    # The same body, fetched once more, then decoded bare: the floor the informer is compared against.
    t1 = time.perf_counter()
    async with session.http.get(session.url(res.path()), headers=await session.headers("application/json"),
                                timeout=aiohttp.ClientTimeout(total=120)) as resp:
        body = await resp.read()
    fetch_s = time.perf_counter() - t1
    t2 = time.perf_counter()
    orjson.loads(body)
    loads_s = time.perf_counter() - t2
    await api.aclose()
    return {"pods": count, "sync_s": sync_s, "loads_s": loads_s, "fetch_s": fetch_s, "rss_mb": rss_mb,
            "body_mb": len(body) / 1e6, "pod_kb": len(body) / max(count, 1) / 1e3}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--pods", type=int, default=10_000)
    ap.add_argument("--page-size", type=int, default=500, help="list limit per page (default: the informer's); "
                    "0 = one unpaged request")
    ap.add_argument("--plain-http", action="store_true", help="serve without TLS (default: HTTPS, as EKS)")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        kubeconfig = os.path.join(tmp, "kubeconfig")
        proc, conn = start_emulator(args.pods, kubeconfig, tls=not args.plain_http)
        pin_to_cpu(0)
        try:
            r = asyncio.run(bench(kubeconfig, args.page_size or None))
        finally:
            stop_emulator(proc, conn)
    print(f"informer_list {'http' if args.plain_http else 'https'} pods={r['pods']} pod_kb={r['pod_kb']:.1f} body_mb={r['body_mb']:.1f} "
          f"sync_s={r['sync_s']:.2f} bare_orjson_loads_s={r['loads_s']:.2f} ratio={r['sync_s'] / r['loads_s']:.2f}x "
          f"(ratio_vs_fetch+loads={r['sync_s'] / (r['fetch_s'] + r['loads_s']):.2f}x) peak_rss_mb={r['rss_mb']:.0f}")


if __name__ == "__main__":
    main()
