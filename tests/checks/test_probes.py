"""A built-in probe check end to end: run in-process on schedule, result in status, Events only on a change."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from aiohttp import web

from kubevigil.kube.resources import by_kind
from kubevigil.sim.cluster import Cluster
from tests.conditions import eventually

from .harness import checks_role, create_hc, hc_status, install_crds, namespace
from .probes_standin import probes_module

KV = "kubevigil.io"


@pytest.fixture(autouse=True)
def probes() -> Iterator[None]:
    probes_module()
    yield


async def test_http_probe_runs_in_process_and_reports_changes(
        sim_cluster: Cluster, sim_kubeconfig: Path, tmp_path: Path) -> None:
    state = {"status": 200}

    async def handler(_: web.Request) -> web.Response:
        return web.Response(status=state["status"], text="ok")

    app = web.Application()
    app.add_routes([web.get("/healthz", handler)])
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    install_crds(sim_cluster, argo=False)
    namespace(sim_cluster, "web")
    create_hc(sim_cluster, {"apiVersion": "kubevigil.io/v1", "kind": "HealthCheck",
                            "metadata": {"name": "site", "namespace": "web"},
                            "spec": {"schedule": {"every": "1s"}, "timeout": "2s",
                                     "probe": {"http": {"url": f"http://127.0.0.1:{port}/healthz"}}}})
    try:
        async with checks_role(sim_kubeconfig, {"jitter": 0}, tmp_path) as running:
            await eventually(lambda: hc_status(sim_cluster, KV, "web", "site").get("successCount", 0) >= 3,
                           what="three passes")
            state["status"] = 503
            await eventually(lambda: hc_status(sim_cluster, KV, "web", "site").get("consecutiveFailures", 0) >= 2,
                           what="two failures")
            status = hc_status(sim_cluster, KV, "web", "site")
            assert status["errorMessage"].endswith("http: status 503, expected 2xx")
            assert status["history"][0]["run"] == "probe/http"
            assert "currentRun" not in status or status["currentRun"] is None
            value = running.registry.get_sample_value("site_latency_seconds",
                                                      {"healthcheck_name": "site", "namespace": "web"})
            assert value is not None and value >= 0
    finally:
        await runner.cleanup()
    reasons = [e["reason"] for e in sim_cluster.store.list(by_kind("Event"), "web")
               if e["involvedObject"]["name"] == "site"]
    # Probes write Events on a change of result only: one pass, one failure, however many runs.
    assert reasons.count("RunSucceeded") == 1 and reasons.count("RunFailed") == 1


async def test_an_unknown_probe_is_reported_invalid(sim_cluster: Cluster, sim_kubeconfig: Path,
                                                    tmp_path: Path) -> None:
    install_crds(sim_cluster, argo=False)
    namespace(sim_cluster, "web")
    create_hc(sim_cluster, {"apiVersion": "kubevigil.io/v1", "kind": "HealthCheck",
                            "metadata": {"name": "odd", "namespace": "web"},
                            "spec": {"schedule": {"every": "1m"}, "probe": {"gopher": {}}}})
    async with checks_role(sim_kubeconfig, {"jitter": 0}, tmp_path):
        await eventually(lambda: hc_status(sim_cluster, KV, "web", "odd").get("status") == "Invalid", what="invalid")
    assert "unknown probe 'gopher'" in hc_status(sim_cluster, KV, "web", "odd")["errorMessage"]
