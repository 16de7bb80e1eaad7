"""The scrape role end to end: emulator pods -> informer -> HTTP scrapes on loopback -> aggregation -> delivery ->
moto's CloudWatch, over several cycles with a counter reset, a deleted pod, a garbage answer and a timeout."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio

from kubevigil.sim.cluster import Cluster
from tests.conditions import eventually

from .harness import POD, Exporters, add_pod, datapoints, next_cycle, scrape_role

INTERVAL = 10.0


@pytest_asyncio.fixture
async def cluster() -> AsyncIterator[Cluster]:
    async with Cluster(workloads=False) as c:  # pods keep the status the test gives them
        yield c


@pytest_asyncio.fixture
async def exporters() -> AsyncIterator[Exporters]:
    ex = Exporters()
    try:
        yield ex
    finally:
        await ex.stop()


def ipamd(base: str, adds: int) -> bytes:
    """An anchor scrape with awscni_add_ip_req_count set to `adds`."""
    text = base.replace("awscni_add_ip_req_count 100", f"awscni_add_ip_req_count {adds}")
    assert text != base or adds == 100
    return text.encode()


async def test_sums_and_deltas_over_cycles(cluster: Cluster, exporters: Exporters, tmp_path: Path, aws_env: str,
                                           anchor_scrapes: tuple[str, str]) -> None:
    first, second = anchor_scrapes
    ips = await exporters.start(3)
    a, b, c = ips
    for i, ip in enumerate(ips):
        add_pod(cluster.store, f"aws-node-{i}", ip, f"node-{i}")
    exporters.bodies.update({a: ipamd(first, 100), b: ipamd(second, 100), c: ipamd(first, 500)})
    section = {"cluster_id": "test-cluster", "sinks": ["mem", "cw"],
               "jobs": [{"name": "aws-node", "port": exporters.port, "interval": INTERVAL, "timeout": 2}]}
    kubeconfig = cluster.write_kubeconfig(tmp_path / "kubeconfig")
    async with scrape_role(kubeconfig, section, tmp_path / "state", aws_env) as run:
        rec = run.recorder
        await eventually(lambda: rec.puts, what="first cycle")
        got = rec.values(0)
        assert got["totalIPAddresses"] == 10 + 16 + 10
        assert got["assignIPAddresses"] == 3 and got["maxIPAddresses"] == 45 and got["eniMaxAvailable"] == 9
        assert got["totalIPv4Prefixes"] == 1 and got["awsAPILatency"] == 1
        assert "addReqCount" not in got  # first sight of each pod: no increase measured yet
        assert (got["scrapeTargetsExpected{Job=aws-node}"], got["scrapeTargetsScraped{Job=aws-node}"]) == (3, 3)

        exporters.bodies.update({a: ipamd(first, 105), b: ipamd(second, 107), c: ipamd(first, 511)})
        await next_cycle(run, INTERVAL)
        got = rec.values(1)
        assert got["addReqCount"] == 5 + 7 + 11  # per pod, not one last/current pair for all pods
        assert got["delReqCount"] == 0 and got["awsAPIErr"] == 0 and got["ec2ApiReqCount"] == 0

        exporters.bodies.update({a: ipamd(first, 106), c: ipamd(first, 4)})  # c's ipamd restarted
        await next_cycle(run, INTERVAL)
        assert rec.values(2)["addReqCount"] == 1 + 0 + 4
        assert run.registry.get_sample_value("kubevigil_scrape_resets_total", {"job": "aws-node"}) == 1

        cluster.store.delete(POD, "kube-system", "aws-node-1")  # deleted mid-run
        await eventually(lambda: len(run.role.runners[0].informer.cache) == 2, what="deletion seen")
        exporters.bodies.update({a: ipamd(first, 110), c: ipamd(first, 6)})
        await next_cycle(run, INTERVAL)
        got = rec.values(3)
        assert got["totalIPAddresses"] == 20 and got["addReqCount"] == 4 + 2
        assert run.role.runners[0].aggregator.tracked_pods == 2  # b's counter state is gone

        garbage, hang = await exporters.add(), await exporters.add()
        add_pod(cluster.store, "aws-node-7", garbage, "node-7")
        add_pod(cluster.store, "aws-node-8", hang, "node-8")
        exporters.bodies.update({garbage: b"<html>502 Bad Gateway</html>", hang: None,
                                 a: ipamd(first, 111), c: ipamd(first, 7)})
        await eventually(lambda: len(run.role.runners[0].targets()) == 4, what="new pods seen")
        await next_cycle(run, INTERVAL)
        got = rec.values(4)
        # 2 of 4 answered: the sums are marked partial, the increases are whole for the pods that answered.
        assert "totalIPAddresses" not in got and got["totalIPAddresses{Partial=true}"] == 20
        assert got["addReqCount"] == 2
        assert (got["scrapeTargetsExpected{Job=aws-node}"], got["scrapeTargetsFailed{Job=aws-node}"]) == (4, 2)
        failures = {f["pod"]: f["reason"] for f in run.role.status()["jobs"][0]["failures"]}
        assert failures == {"kube-system/aws-node-7": "parse", "kube-system/aws-node-8": "timeout"}
        for reason in ("parse", "timeout"):
            assert run.registry.get_sample_value("kubevigil_scrape_failures_total",
                                                 {"job": "aws-node", "reason": reason}) == 1
        assert run.role.readiness().ok

        # Read back from CloudWatch: one datapoint per cycle, stamped with the cycle's start.
        times = [int(p[0].timestamp) for p in rec.puts]
        dims = {"CLUSTER_ID": "test-cluster"}
        points = await eventually(lambda: (p := datapoints(aws_env, run.namespace, "totalIPAddresses", dims))
                                and len(p) == 4 and p, what="totalIPAddresses in CloudWatch")
        assert [(int(p["Timestamp"].timestamp()), p["Maximum"], p["SampleCount"]) for p in points] == [
            (times[0], 36, 1), (times[1], 36, 1), (times[2], 36, 1), (times[3], 20, 1)]
        points = await eventually(lambda: (p := datapoints(aws_env, run.namespace, "addReqCount", dims))
                                and len(p) == 4 and p, what="addReqCount in CloudWatch")
        assert [(int(p["Timestamp"].timestamp()), p["Maximum"]) for p in points] == [
            (times[1], 23), (times[2], 5), (times[3], 6), (times[4], 2)]
        partial = datapoints(aws_env, run.namespace, "totalIPAddresses", {**dims, "Partial": "true"})
        assert [(int(p["Timestamp"].timestamp()), p["Maximum"]) for p in partial] == [(times[4], 20)]


async def test_withhold_and_readiness_when_no_pod_answers(cluster: Cluster, exporters: Exporters,
                                                          tmp_path: Path) -> None:
    (ip,) = await exporters.start(1)
    add_pod(cluster.store, "aws-node-0", ip, "node-0")
    exporters.bodies[ip] = b"hello world\n"
    section = {"cluster_id": "c", "sinks": ["mem"], "jobs": [{
        "name": "aws-node", "port": exporters.port, "interval": INTERVAL, "timeout": 2,
        "completeness": {"min": 1.0, "below": "withhold"}}]}
    async with scrape_role(cluster.write_kubeconfig(tmp_path / "kc"), section, tmp_path / "state") as run:
        await eventually(lambda: run.recorder.puts, what="first cycle")
        assert set(run.recorder.values(0)) == {f"scrapeTargets{s}{{Job=aws-node}}" for s in
                                                ("Expected", "Scraped", "Failed")}
        readiness = run.role.readiness()
        assert not readiness.ok and "none of 1 pods answered" in readiness.detail


@pytest.mark.parametrize("status", [404, 500])
async def test_http_errors_are_failures(cluster: Cluster, tmp_path: Path, status: int) -> None:
    async def handler(_: object) -> object:
        from aiohttp import web
        return web.Response(status=status, text="nope")

    cluster.register_proxy("Pod", "kube-system", "aws-node-0", handler)  # type: ignore[arg-type]
    add_pod(cluster.store, "aws-node-0", "127.0.0.1", "node-0")
    section = {"cluster_id": "c", "sinks": ["mem"], "jobs": [{"name": "aws-node", "via": "proxy",
                                                             "interval": INTERVAL, "timeout": 2}]}
    async with scrape_role(cluster.write_kubeconfig(tmp_path / "kc"), section, tmp_path / "state") as run:
        await eventually(lambda: run.recorder.puts, what="first cycle")
        (failure,) = run.role.status()["jobs"][0]["failures"]
        assert failure["reason"] == "http_status" and str(status) in failure["detail"]
