"""Several nurses, each on its own pod's loopback address and port 8080, against the emulator, from config to sinks."""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from kubevigil.kube.client import KubeApi
from kubevigil.kube.resources import by_kind
from kubevigil.roles.nurse.ring import nearest_clockwise
from tests.conditions import eventually
from tests.nurse.conftest import NAMESPACE, Nurses, add_node, add_pod, lines, nurse_config
from tests.nurse.peers import http_peer, resetting_peer, silent_peer

PROMTOOL = shutil.which("promtool")
ALIVE_KEYS = {"hostname", "headers", "user_agent", "request_uri", "remote_addr", "last_check_result"}
NEIGHBOUR_KEYS = {"PodName", "PodIP", "HostIP", "NodeName", "NodeHash"}


async def get(url: str, **kwargs: Any) -> tuple[int, str]:
    async with aiohttp.ClientSession() as session, session.get(url, timeout=aiohttp.ClientTimeout(total=5),
                                                               **kwargs) as resp:
        return resp.status, await resp.text()


async def get_json(url: str) -> Any:
    async with aiohttp.ClientSession() as session, session.get(url, timeout=aiohttp.ClientTimeout(total=5)) as resp:
        return await resp.json()


def all_ok(nurses: Nurses, pod: str, expected_paths: int) -> bool:
    latest = nurses.role(pod).latest
    if latest is None:
        return False
    paths = [o for k, o in latest.outcomes.items() if k.startswith("path_")]
    return len(paths) == expected_paths and all(o.ok for o in latest.measured())


@asynccontextmanager
async def four_nurses(api: KubeApi, nurses: Nurses, tmp_path: Path, kubeconfig: Path, prefix: str,
                      **section: Any) -> AsyncIterator[list[str]]:
    """Nodes n0..n3 (zones a, b, a, b) with a nurse pod each at <prefix>1..4:8080, all running."""
    pods = []
    for i in range(4):
        node, pod, ip = f"n{i}", f"nurse-{i}", f"{prefix}{i + 1}"
        await add_node(api, node, zone="ab"[i % 2])
        await add_pod(api, pod, node, ip)
        pods.append(pod)
    for i, pod in enumerate(pods):
        await nurses.start(nurse_config(tmp_path, kubeconfig, f"{prefix}{i + 1}", section), pod, f"n{i}",
                           f"{prefix}{i + 1}")
    yield pods


async def test_nurses_check_the_ring_and_serve_kubenurses_surface(api: KubeApi, nurses: Nurses, tmp_path: Path,
                                                                   kubeconfig: Path, prefix: str) -> None:
    seen: list[dict[str, str]] = []
    extra = {"extra_checks": {"echo": f"http://{prefix}50:8080/version"}}
    async with http_peer(prefix + "50", seen=seen), four_nurses(api, nurses, tmp_path, kubeconfig, prefix, **extra):
        for i in range(4):
            await eventually(lambda i=i: all_ok(nurses, f"nurse-{i}", 2), timeout=30)
        # The ring: each nurse checks the 2 nodes nearest clockwise, so each node gets exactly 2 checks.
        for i in range(4):
            role = nurses.role(f"nurse-{i}")
            candidates = role.peers.candidates()
            assert [n.node_name for n in role.latest.checked] == [
                n.node_name for n in nearest_clockwise(f"n{i}", candidates, 2)]
            assert f"n{i}" not in [n.node_name for n in candidates]
        for i in range(4):
            await eventually(lambda i=i: nurses.role(f"nurse-{i}").incoming.count() == 2, timeout=15)

        status, text = await get(f"http://{prefix}1:8080/alive", headers={"X-Probe": "1"})
        assert status == 200
        alive = json.loads(text)
        assert set(alive) == ALIVE_KEYS and alive["hostname"] == "nurse-0"
        assert alive["request_uri"] == "/alive" and alive["headers"]["X-Probe"] == ["1"]
        assert alive["remote_addr"].startswith("127.0.0.1:")
        result = alive["last_check_result"]
        assert result["api_server_direct"] == "ok"  # the emulator answers 401 to a request without the token
        assert result["api_server_dns"] == result["me_ingress"] == result["me_service"] == "skipped"
        assert result["echo"] == "ok" and result["neighbourhood_state"] == "ok"
        assert len(result["neighbourhood"]) == 3 and all(set(n) == NEIGHBOUR_KEYS for n in result["neighbourhood"])
        assert sum(1 for k in result if k.startswith("path_")) == 2
        root = json.loads((await get(f"http://{prefix}1:8080/"))[1])
        assert set(root) == ALIVE_KEYS and root["request_uri"] == "/"
        assert (await get(f"http://{prefix}1:8080/ready"))[0] == 200
        assert (await get(f"http://{prefix}1:8080/alwayshappy"))[0] == 200

        # The token went to the API server only: the extra check's server, asked for /version, never saw it.
        assert seen and all("Authorization" not in h and "authorization" not in h for h in seen)

        metrics = (await get(f"http://{prefix}1:8080/metrics"))[1]
        for name in ("kubenurse_httpclient_request_duration_seconds_bucket{", 'le="0.005"',
                     'kubenurse_httpclient_trace_request_duration_seconds_bucket{event="got_first_resp_byte"',
                     'kubenurse_httpclient_requests_total{code="200",type="echo"}',
                     "kubenurse_neighbourhood_incoming_checks 2.0"):
            assert name in metrics, name
        if PROMTOOL:
            checked = await asyncio.to_thread(subprocess.run, [PROMTOOL, "check", "metrics"], check=False,
                                              input=metrics.encode(), capture_output=True, timeout=60)
            assert checked.returncode == 0, checked.stdout.decode() + checked.stderr.decode()

        # Sinks: a p99, an error rate and a count per check class, with bounded dimensions.
        out = tmp_path / f"{prefix}1" / "metrics.jsonl"
        await eventually(lambda: {m["name"] for m in lines(out)} >= {"NurseCheckLatencyP99", "NurseCheckErrorRate",
                                                                 "NurseCheckCount"}, timeout=15)
        dims = {tuple(sorted(m["dimensions"])) for m in lines(out)}
        assert dims == {("Check", "Cluster", "Node")}
        assert {m["dimensions"]["Check"] for m in lines(out)} == {"api_server_direct", "echo", "neighbours"}
        assert {m["dimensions"]["Node"] for m in lines(out)} == {"n0"}


async def test_a_nurse_that_goes_away_is_reported_and_its_series_dropped(
        api: KubeApi, nurses: Nurses, tmp_path: Path, kubeconfig: Path, prefix: str) -> None:
    async with four_nurses(api, nurses, tmp_path, kubeconfig, prefix, neighbours={
            "namespace": NAMESPACE, "selector": "app=nurse", "limit": 3}):
        for i in range(4):
            await eventually(lambda i=i: all_ok(nurses, f"nurse-{i}", 3), timeout=30)
        await nurses.stop("nurse-3")  # its pod stays Running in the API: a network problem, not a rollout

        def refused_from(pod: str) -> bool:
            latest = nurses.role(pod).latest
            return latest.outcomes["path_n3"].event == "refused"

        await eventually(lambda: refused_from("nurse-0"), timeout=15)
        records = tmp_path / f"{prefix}1" / "records.jsonl"
        await eventually(lambda: any(r["body"]["state"] == "bad" for r in lines(records)), timeout=15)
        bad = next(r for r in lines(records) if r["body"]["state"] == "bad")
        assert bad["body"]["check"] == "path_n3" and bad["body"]["event"] == "refused"
        assert bad["body"]["source"]["node"] == "n0" and bad["body"]["target_node"] == "n3"

        merged = await get_json(f"http://{prefix}1:8080/api/matrix/all")
        assert merged["sources"]["n3"]["reachable"] is False
        assert merged["matrix"]["n0"]["n3"]["event"] == "refused" and merged["matrix"]["n1"]["n0"]["ok"]
        assert set(merged["nodes"]) == {"n0", "n1", "n2", "n3"}
        own = await get_json(f"http://{prefix}2:8080/api/matrix")
        assert own["node"] == "n1" and own["checks"]["path_n3"]["event"] == "refused"

        # Back: a recovery record; then the pod is deleted: its series go from every nurse's /metrics.
        await nurses.start(nurse_config(tmp_path, kubeconfig, f"{prefix}4",
                                        {"neighbours": {"namespace": NAMESPACE, "selector": "app=nurse", "limit": 3}}),
                           "nurse-3", "n3", f"{prefix}4")
        await eventually(lambda: any(r["body"]["state"] == "ok" for r in lines(records)), timeout=15)
        assert 'type="path_n3"' in (await get(f"http://{prefix}1:8080/metrics"))[1]
        await api.delete(by_kind("Pod"), NAMESPACE, "nurse-3")
        await eventually(lambda: "path_n3" not in nurses.role("nurse-0").latest.outcomes, timeout=15)
        assert 'type="path_n3"' not in (await get(f"http://{prefix}1:8080/metrics"))[1]
        assert len(nurses.role("nurse-0").latest.neighbourhood) == 2


async def test_cordoned_node_makes_ready_fail_and_leaves_the_ring(api: KubeApi, nurses: Nurses, tmp_path: Path,
                                                                  kubeconfig: Path, prefix: str) -> None:
    async with four_nurses(api, nurses, tmp_path, kubeconfig, prefix):
        await eventually(lambda: all_ok(nurses, "nurse-1", 2), timeout=30)
        await api.patch(by_kind("Node"), None, "n0", {"spec": {"unschedulable": True}})
        await eventually(lambda: nurses.role("nurse-0").unready_reason() == "node n0 is cordoned", timeout=15)
        status, text = await get(f"http://{prefix}1:8080/ready")
        assert (status, text.strip()) == (503, "node n0 is cordoned")
        for i in (1, 2, 3):
            await eventually(lambda i=i: "n0" not in [n.node_name for n in nurses.role(f"nurse-{i}").latest.neighbourhood],
                        timeout=15)
        assert "n0" in [n.node_name for n in nurses.role("nurse-1").peers.nurses()]  # still asked for the matrix


async def test_graceful_shutdown_is_unready_then_stops(api: KubeApi, nurses: Nurses, tmp_path: Path,
                                                       kubeconfig: Path, prefix: str) -> None:
    await add_node(api, "n0")
    await add_pod(api, "nurse-0", "n0", prefix + "1")
    config = nurse_config(tmp_path, kubeconfig, prefix + "1", {"shutdown_seconds": 1.5})
    runtime = await nurses.start(config, "nurse-0", "n0", prefix + "1")
    await eventually(lambda: nurses.role("nurse-0").latest is not None, timeout=30)
    assert (await get(f"http://{prefix}1:8080/ready"))[0] == 200
    stopping = asyncio.create_task(runtime.stop())
    await eventually(lambda: nurses.role("nurse-0").shutting_down, timeout=5)
    assert (await get(f"http://{prefix}1:8080/ready"))[0] == 503  # still serving, but unready
    assert (await get(f"http://{prefix}1:8080/alwayshappy"))[0] == 200
    await stopping
    nurses.running.pop("nurse-0")
    with pytest.raises(aiohttp.ClientError):
        await get(f"http://{prefix}1:8080/ready")


async def test_faulty_neighbours_are_classified(api: KubeApi, nurses: Nurses, tmp_path: Path, kubeconfig: Path,
                                                prefix: str) -> None:
    """Neighbour pods that stop answering, answer slowly, reset connections, or are not there at all."""
    await add_node(api, "n-self")
    await add_pod(api, "nurse-self", "n-self", prefix + "1")
    for i, name in enumerate(["hung", "reset", "slow", "down"]):
        await add_node(api, f"n-{name}")
        await add_pod(api, f"nurse-{name}", f"n-{name}", f"{prefix}{10 + i}")
    async with silent_peer(prefix + "10"), resetting_peer(prefix + "11"), http_peer(prefix + "12", delay=0.5):
        await nurses.start(nurse_config(tmp_path, kubeconfig, prefix + "1", {
            "neighbours": {"namespace": NAMESPACE, "selector": "app=nurse", "limit": 0}}),
            "nurse-self", "n-self", prefix + "1")
        role = nurses.role("nurse-self")
        await eventually(lambda: role.latest and len([k for k in role.latest.outcomes if k.startswith("path_")]) == 4,
                    timeout=30)
        outcomes = role.latest.outcomes
        assert outcomes["path_n-hung"].event == "timeout"
        assert outcomes["path_n-reset"].event == "reset"
        assert outcomes["path_n-down"].event == "refused"
        assert outcomes["path_n-slow"].ok and outcomes["path_n-slow"].seconds >= 0.5
        metrics = (await get(f"http://{prefix}1:8080/metrics"))[1]
        for event, node in (("timeout", "n-hung"), ("reset", "n-reset"), ("refused", "n-down")):
            assert f'kubenurse_errors_total{{event="{event}",type="path_{node}"}}' in metrics
        alive = json.loads((await get(f"http://{prefix}1:8080/alive"))[1])["last_check_result"]
        assert alive["path_n-hung"] == "timeout: no answer within 1.5s"
        assert alive["path_n-down"] == "refused: connection refused"
        assert alive["path_n-slow"] == "ok"
