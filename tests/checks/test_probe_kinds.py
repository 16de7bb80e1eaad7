"""Every built-in probe kind as a kubevigil.io HealthCheck applied with kubectl, run by the real Runtime from a config
file, against real peers on loopback (an aiohttp server, a TCP line server, Debian's dnsmasq and prometheus, a TLS
server with a short-lived certificate, the emulator's Deployments): results in status, sinks and /metrics. Probes
that would reach past their HealthCheck with kubevigil's credentials are refused with a reason and an Event, and no
secret shows anywhere kubevigil writes or serves.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import yaml

from kubevigil.catalog import load
from kubevigil.core.secrets import MASK
from kubevigil.kube.resources import by_kind
from kubevigil.runtime import Runtime
from kubevigil.sim.cluster import Cluster
from tests.checks_probes import peers
from tests.checks_probes.certs import make_ca, make_leaf
from tests.checks_probes.servers import SECRET_TOKEN, RawServer, http_app, pong, serve
from tests.conditions import eventually
from tests.loopback import free_port
from tests.prometheus_server import PROMETHEUS

from .harness import hc_status, install_crds, kubectl, namespace, runtime_config

KV = "kubevigil.io"
LITERAL = "literal-s3cret-value"
STOLEN = "their-s3cret-value"


@pytest.fixture(scope="module")
def dnsmasq(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if peers.DNSMASQ is None:
        pytest.skip("dnsmasq missing: scripts/test installs Debian's dnsmasq-base")
    with peers.dnsmasq(tmp_path_factory.mktemp("dnsmasq")) as address:
        yield address


@pytest.fixture(scope="module")
def prometheus(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if PROMETHEUS is None:
        pytest.skip("prometheus missing: scripts/test installs Debian's prometheus")
    with peers.prometheus(tmp_path_factory.mktemp("prometheus")) as base:
        yield base


def check(name: str, probe: dict[str, Any]) -> dict[str, Any]:
    return {"apiVersion": "kubevigil.io/v1", "kind": "HealthCheck", "metadata": {"name": name, "namespace": "web"},
            "spec": {"schedule": {"every": "1h"}, "timeout": "10s", "probe": probe}}


def lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(ln) for ln in path.read_text().splitlines()] if path.exists() else []


def seed(cluster: Cluster) -> None:
    install_crds(cluster, argo=False)
    cluster.add_node("node-1")
    for ns in ("web", "other"):
        namespace(cluster, ns)
    for ns, name, value in (("web", "probe-token", SECRET_TOKEN), ("other", "theirs", STOLEN)):
        cluster.store.create(by_kind("Secret"), {"apiVersion": "v1", "kind": "Secret", "metadata": {
            "name": name, "namespace": ns}, "data": {"token": base64.b64encode(value.encode()).decode()}})
    cluster.store.create(by_kind("Deployment"), {
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "site", "namespace": "web"},
        "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "site"}},
                 "template": {"metadata": {"labels": {"app": "site"}},
                              "spec": {"containers": [{"name": "site", "image": "nginx"}]}}}})


def available(cluster: Cluster) -> bool:
    status = cluster.store.get(by_kind("Deployment"), "web", "site").get("status") or {}
    return any(c["type"] == "Available" and c["status"] == "True" for c in status.get("conditions") or [])


async def test_every_probe_kind_from_config_to_sinks(sim_cluster: Cluster, sim_kubeconfig: Path, tmp_path: Path,
                                                     dnsmasq: str, prometheus: str) -> None:
    seed(sim_cluster)
    await eventually(lambda: available(sim_cluster), what="Deployment web/site available")
    ca = make_ca()
    (tmp_path / "ca.crt").write_bytes(ca.cert_pem)
    leaf = make_leaf(ca, ["127.0.0.1"], days=3)
    config = runtime_config(tmp_path, sim_kubeconfig, free_port(), {
        "jitter": 0, "probes": {"secrets": True}, "sinks": {"records": ["results"], "metrics": ["cw"]}})
    async with serve(http_app()) as web_url, RawServer(pong) as line_server, \
            serve(http_app(), leaf.server_context(tmp_path, "leaf")) as tls_url:
        tls_port = int(tls_url.rsplit(":", 1)[1])
        token = {"secret": "probe-token", "namespace": "web", "key": "token", "prefix": "Bearer "}
        runnable = {
            "private": ({"http": {"url": f"{web_url}/private", "headers": {"Authorization": token}}}, "Succeeded"),
            "literal": ({"http": {"url": f"{web_url}/ok", "headers": {"X-Api-Key": LITERAL},
                                  "body_regex": "all systems ok"}}, "Succeeded"),
            "redis": ({"tcp": {"host": "127.0.0.1", "port": line_server.port, "send": "PING\r\n",
                               "expect": "^\\+PONG"}}, "Succeeded"),
            "resolves": ({"dns": {"name": "web.probe.test", "type": "A", "expect": ["127.0.0.10"],
                                  "server": dnsmasq}}, "Succeeded"),
            "cert": ({"tls": {"host": "127.0.0.1", "port": tls_port, "ca_file": str(tmp_path / "ca.crt"),
                              "min_days_to_expiry": 14}}, "Failed"),
            "site": ({"kubernetes": {"api_version": "apps/v1", "kind": "Deployment", "namespace": "web",
                                     "name": "site", "condition": "Available"}}, "Succeeded"),
            "memory": ({"prometheus": {"url": prometheus, "query": peers.MEMORY_PERCENT, "op": "<",
                                       "threshold": 95}}, "Succeeded"),
        }
        refused = {
            "steal": ({"http": {"url": f"{web_url}/private", "headers": {"Authorization": {
                "secret": "theirs", "namespace": "other", "key": "token"}}}},
                "Secret other/theirs is outside this HealthCheck's namespace web"),
            "config": ({"kubernetes": {"api_version": "v1", "kind": "ConfigMap", "namespace": "web"}},
                       "ConfigMap (configmaps) is not a resource probes may read"),
            "client-cert": ({"http": {"url": f"{web_url}/ok", "tls": {"cert_file": "/etc/kubevigil/tls.crt",
                                                                      "key_file": "/etc/kubevigil/tls.key"}}},
                            "would present kubevigil's own files as a client certificate"),
        }
        manifest = tmp_path / "checks.yaml"
        manifest.write_text(yaml.safe_dump_all([check(n, p) for n, (p, _) in {**runnable, **refused}.items()]))
        await kubectl(sim_kubeconfig, "apply", "-f", str(manifest))
        runtime = Runtime(load(config).settings, ["checks"])
        await runtime.start()
        base = f"http://127.0.0.1:{runtime.port}"
        try:
            def settled() -> list[str]:
                wrong = [f"{n}: {hc_status(sim_cluster, KV, 'web', n)}" for n, (_, want) in runnable.items()
                         if hc_status(sim_cluster, KV, "web", n).get("status") != want]
                return wrong + [f"{n}: {hc_status(sim_cluster, KV, 'web', n)}" for n in refused
                                if hc_status(sim_cluster, KV, "web", n).get("status") != "Invalid"]

            await eventually(lambda: not settled(), timeout=60, what="every probe check settled",
                             state=lambda: "; ".join(settled()))
            records = await eventually(lambda: {r["body"]["name"]: r["body"] for r in lines(tmp_path / "results.jsonl")
                                                if len(lines(tmp_path / "results.jsonl")) >= len(runnable)},
                                       what="a record per run")
            async with aiohttp.ClientSession() as http:
                async with http.get(f"{base}/metrics") as resp:
                    metrics = await resp.text()
                served = []
                for path in ["/api/checks", *(f"/api/checks/web/{n}" for n in [*runnable, *refused])]:
                    async with http.get(base + path) as resp:
                        assert resp.status == 200
                        served.append(await resp.text())
        finally:
            await runtime.stop()
        table = await kubectl(sim_kubeconfig, "get", "khc", "-n", "web")

    assert {name: body["runner"] for name, body in records.items()} == {
        name: f"probe/{next(iter(probe))}" for name, (probe, _) in runnable.items()}
    assert hc_status(sim_cluster, KV, "web", "cert")["errorMessage"] == \
        f"tls 127.0.0.1:{tls_port}: expiring: the certificate expires in 3.0 days (threshold 14)"
    for name, (_, reason) in refused.items():
        assert reason in hc_status(sim_cluster, KV, "web", name)["errorMessage"]
    events = sim_cluster.store.list(by_kind("Event"), "web")
    invalid = {e["involvedObject"]["name"]: e["message"] for e in events if e["reason"] == "InvalidSpec"}
    assert set(invalid) == set(refused) and all(refused[n][1] in m for n, m in invalid.items())
    # Probe values are custom metrics with active-monitor's naming; every series has its namespace.
    assert 'memory_value{healthcheck_name="memory",namespace="web"} 90.0' in metrics
    days = next(ln for ln in metrics.splitlines() if ln.startswith("cert_days_to_expiry{"))
    assert 2.9 < float(days.rsplit(" ", 1)[1]) <= 3.0
    assert 'kuberhealthy_check{check="resolves",crd="kubevigil.io",namespace="web",status="1"} 1.0' in metrics
    assert len(lines(tmp_path / "metrics.jsonl")) >= len(runnable)
    # A literal header value is masked on the open read API; no secret is written or served anywhere.
    literal = json.loads(served[1 + list(runnable).index("literal")])["checks"][0]["spec"]["probe"]["http"]
    assert literal["headers"] == {"X-Api-Key": MASK}
    statuses = json.dumps([hc_status(sim_cluster, KV, "web", n) for n in [*runnable, *refused]])
    written = [statuses, json.dumps(events), metrics, *served, table,
               (tmp_path / "results.jsonl").read_text(), (tmp_path / "metrics.jsonl").read_text()]
    for secret in (SECRET_TOKEN, LITERAL, STOLEN):
        assert not [w for w in written if secret in w], f"{secret} leaked"
    assert "Invalid" in table and "Succeeded" in table
