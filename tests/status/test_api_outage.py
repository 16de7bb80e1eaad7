"""`kill -9` of the API server under `kubevigil run`, then its restart with a new CA, a new token and an empty store.

Both are real processes: `kubevigil sim serve` (the emulator) and `kubevigil run` (status role, a file sink and
CloudWatch on moto). kubevigil reads its CA and token from files, as in a pod; the test rewrites them (atomically,
as the kubelet does) when the emulator comes back.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import os
import secrets
import signal
import sys
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import yaml

from kubevigil.kube.client import connect
from kubevigil.kube.resources import by_kind
from kubevigil.sinks.aws import AwsParams, make_client
from tests.conditions import eventually
from tests.events.endpoints import FAST_DELIVERY, child
from tests.loopback import free_port

from .harness import deployment, namespace

BOUND = 3.0  # status.stale_after_seconds
CW_NAMESPACE = "Test/ApiOutage"


@contextlib.asynccontextmanager
async def emulator(port: int, kubeconfig_out: Path, token: str, log: Path) -> AsyncIterator[asyncio.subprocess.Process]:
    """`kubevigil sim serve` on 127.0.0.1:`port` in its own process; yields once its kubeconfig is written."""
    kubeconfig_out.unlink(missing_ok=True)
    with log.open("ab") as out:
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "kubevigil.cli", "sim", "serve", "--port", str(port), "--kubeconfig-out",
            str(kubeconfig_out), f"--token={token}", stdout=out, stderr=out)
    try:
        await eventually(lambda: kubeconfig_out.exists() or proc.returncode is not None, timeout=60)
        assert proc.returncode is None, log.read_text()[-2000:]
        yield proc
    finally:
        if proc.returncode is None:
            proc.kill()
        await proc.wait()


def install_credentials(sim_kubeconfig: Path, creds: Path) -> None:
    """Put the emulator's CA and token where kubevigil's kubeconfig points, each file replaced atomically."""
    doc = yaml.safe_load(sim_kubeconfig.read_text())
    files = {"ca.pem": base64.b64decode(doc["clusters"][0]["cluster"]["certificate-authority-data"]),
             "token": doc["users"][0]["user"]["token"].encode()}
    for name, content in files.items():
        tmp = creds / f".{name}.new"
        tmp.write_bytes(content)
        os.replace(tmp, creds / name)


def kubevigil_kubeconfig(server: str, creds: Path) -> Path:
    doc = {"apiVersion": "v1", "kind": "Config", "current-context": "sim",
           "clusters": [{"name": "sim", "cluster": {"server": server,
                                                    "certificate-authority": str(creds / "ca.pem")}}],
           "users": [{"name": "sim", "user": {"tokenFile": str(creds / "token")}}],
           "contexts": [{"name": "sim", "context": {"cluster": "sim", "user": "sim", "namespace": "default"}}]}
    path = creds / "kubeconfig"
    path.write_text(yaml.safe_dump(doc))
    return path


def write_config(tmp_path: Path, kubeconfig: Path, endpoint: str) -> Path:
    delivery = FAST_DELIVERY.model_dump()
    doc = {
        "cluster": {"name": "outage", "kubeconfig": str(kubeconfig)},
        "server": {"listen": "127.0.0.1:0"},
        "logging": {"level": "info", "format": "json"},
        "state_dir": str(tmp_path / "state"),
        "sinks": {"out": {"file": {"path": str(tmp_path / "metrics.jsonl")}, "delivery": delivery},
                  "cw": {"cloudwatch": {"namespace": CW_NAMESPACE, "endpoint_url": endpoint,
                                        "storage_resolution": 1}, "delivery": delivery}},
        "status": {"seconds": 1, "stale_after_seconds": BOUND, "metric": {"name": "Heartbeat"},
                   "targets": [{"kind": "Deployment", "namespace": "shop", "name": "web"}], "sinks": ["out", "cw"]},
    }
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(doc))
    return path


async def seed_shop(kubeconfig: Path) -> None:
    api = await connect(str(kubeconfig))
    try:
        for obj in (namespace("shop"), deployment("web", "shop", 1)):
            res = by_kind(obj["kind"], obj["apiVersion"])
            await api.create(res, obj["metadata"].get("namespace"), obj)
    finally:
        await api.aclose()


def log_entries(log: Path) -> list[dict[str, Any]]:
    """kubevigil's stderr, one JSON document per line; anything else (a raw traceback) fails the test."""
    entries = []
    for line in log.read_text().splitlines():
        if line.strip():
            entries.append(json.loads(line))
    return entries


def heartbeats(path: Path) -> list[tuple[float, float]]:
    """(timestamp, value) of every heartbeat the file sink received."""
    if not path.exists():
        return []
    out = []
    for line in path.read_text().splitlines():
        with contextlib.suppress(ValueError):
            doc = json.loads(line)
            if doc["name"] == "Heartbeat":
                out.append((doc["timestamp"], doc["value"]))
    return out


def cloudwatch_points(endpoint: str, since: datetime) -> list[dict[str, Any]]:
    cw = make_client("cloudwatch", AwsParams(endpoint_url=endpoint))
    out = cw.get_metric_statistics(Namespace=CW_NAMESPACE, MetricName="Heartbeat",
                                   Dimensions=[{"Name": "Cluster", "Value": "outage"}], StartTime=since,
                                   EndTime=datetime.now(UTC) + timedelta(minutes=5), Period=1,
                                   Statistics=["Maximum"])
    return sorted(out["Datapoints"], key=lambda p: p["Timestamp"])


async def test_api_server_killed_then_restarted_with_a_new_ca_and_token(aws_env: str, tmp_path: Path) -> None:
    started = datetime.now(UTC) - timedelta(seconds=2)
    port = free_port()
    server = f"https://127.0.0.1:{port}"
    creds = tmp_path / "creds"
    creds.mkdir()
    sim_log, run_log = tmp_path / "sim.log", tmp_path / "kubevigil.log"
    sim_kubeconfig = tmp_path / "sim-kubeconfig"
    kubeconfig = kubevigil_kubeconfig(server, creds)
    config = write_config(tmp_path, kubeconfig, aws_env)
    metrics = tmp_path / "metrics.jsonl"

    async with emulator(port, sim_kubeconfig, secrets.token_urlsafe(16), sim_log) as first_sim:
        install_credentials(sim_kubeconfig, creds)
        await seed_shop(kubeconfig)
        async with child(config, run_log) as run, aiohttp.ClientSession(
                timeout=aiohttp.ClientTimeout(total=5)) as http:
            def state() -> str:
                return f"kubevigil log: {run_log.read_text()[-3000:]}"

            await eventually(lambda: any(e.get("event") == "started" for e in log_entries(run_log))
                        or run.returncode is not None, timeout=60, state=state)
            base = f"http://127.0.0.1:{next(e for e in log_entries(run_log) if e.get('event') == 'started')['port']}"

            async def get(path: str) -> tuple[int, Any]:
                async with http.get(base + path) as resp:
                    return resp.status, await resp.json(content_type=None)

            async def ready() -> bool:
                return (await get("/readyz"))[0] == 200

            async def poll(check: Any, timeout: float, what: str) -> None:
                """`check` through `eventually`, giving up at once when kubevigil exits."""
                async def done() -> bool:
                    return run.returncode is not None or await check()

                await eventually(done, timeout=timeout, interval=0.1, what=what, state=state)
                assert run.returncode is None, state()

            await poll(ready, 60, "/readyz 200")
            await eventually(lambda: any(v == 1.0 for _, v in heartbeats(metrics)), timeout=30, state=state)

            first_sim.send_signal(signal.SIGKILL)
            await first_sim.wait()
            killed_at = time.time()

            async def not_ready() -> bool:
                return (await get("/readyz"))[0] == 503

            await poll(not_ready, 30, "/readyz 503")
            body = (await get("/readyz"))[1]
            assert f"has not heard from {server}" in body["parts"]["role:status"]["detail"]

            async def withheld_long_enough() -> bool:
                view = (await get("/status"))[1]
                return bool(view["withheld"]) and min(t["stale_seconds"] or 0 for t in view["targets"]) > BOUND + 2

            await poll(withheld_long_enough, 30, "the heartbeat withheld for a few intervals")
            first = next(e for e in log_entries(run_log) if e.get("event") == "informer cannot list/watch")
            assert first["level"] == "warning" and first["server"] == server and first["error"]
            # Nothing published says healthy from a view older than the bound (the last contact was before the kill).
            late = [(t, v) for t, v in heartbeats(metrics) if t > killed_at + BOUND]
            assert late == []
            assert [p for p in cloudwatch_points(aws_env, started)
                    if p["Timestamp"].timestamp() > killed_at + BOUND and p["Maximum"] == 1.0] == []

            # The API server comes back: another process, so another self-signed CA; another token; an empty store.
            restarted_at = time.time()
            async with emulator(port, sim_kubeconfig, secrets.token_urlsafe(16), sim_log):
                install_credentials(sim_kubeconfig, creds)
                await poll(ready, 60, "/readyz 200 after the restart")

                async def not_found() -> bool:  # relisted: the restored (empty) store has no Deployment
                    view = (await get("/status"))[1]
                    return view["withheld"] is None and view["targets"][0]["reason"] == "not found"

                await poll(not_found, 30, "the target judged from the new store")
                await seed_shop(kubeconfig)
                await eventually(lambda: any(t > restarted_at and v == 1.0 for t, v in heartbeats(metrics)), timeout=60,
                                 state=state)
                await eventually(lambda: any(p["Timestamp"].timestamp() > restarted_at and p["Maximum"] == 1.0
                                             for p in cloudwatch_points(aws_env, started)), timeout=30, state=state)
                run.send_signal(signal.SIGTERM)
                assert await asyncio.wait_for(run.wait(), 30) == 0

        entries = log_entries(run_log)  # every line is JSON: no traceback on stderr
        events = [e.get("event") for e in entries]
        assert "informer recovered" in events and "Kubernetes config reloaded" in events
        assert any(e.get("event", "").startswith("view of the cluster is fresh again") for e in entries)
        recovered = next(e for e in entries if e.get("event") == "informer recovered")
        assert recovered["level"] == "info" and recovered["server"] == server
