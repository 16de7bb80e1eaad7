"""The nurse's own cost: CPU per 1,000 checks, and a nurse with 10 neighbours at a 5 s interval (CPU share, RSS).

The emulator and the neighbours (aiohttp servers, each on its own loopback address, port 8080) run in a child
process, so the figures are the nurse process's alone.
Prints:
  per_check:  nurse CPU milliseconds per 1,000 checks of a neighbour (plain HTTP, a new connection each, traced)
  steady:     CPU share of one core and RSS of a `kubevigil run` process running only the nurse role (informers,
              API server checks, 10 neighbours, /metrics), over --seconds after a warm-up, read from /proc
Run:  .venv/bin/python bench/nurse_probe.py [--checks 1000] [--seconds 60] [--python VENV/bin/python]
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing as mp
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

import yaml

NEIGHBOURS = 10


async def _peers_and_emulator(prefix: str, kubeconfig: str, conn: Any) -> None:
    from aiohttp import web

    from kubevigil.kube.resources import by_kind
    from kubevigil.sim.cluster import Cluster

    async def happy(_: web.Request) -> web.Response:
        return web.Response()

    runners = []
    for i in range(NEIGHBOURS + 1):
        app = web.Application()
        app.router.add_get("/alwayshappy", happy)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        if i:  # address 1 is the nurse under test
            await web.TCPSite(runner, f"{prefix}{i + 1}", 8080).start()
        runners.append(runner)
    async with Cluster(workloads=False) as cluster:
        store = cluster.store
        store.create(by_kind("Namespace"), {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "nurse"}})
        for i in range(NEIGHBOURS + 1):
            store.create(by_kind("Node"), {"apiVersion": "v1", "kind": "Node", "metadata": {"name": f"n{i}"},
                                           "status": {"conditions": [{"type": "Ready", "status": "True"}]}})
            store.create(by_kind("Pod"), {
                "apiVersion": "v1", "kind": "Pod",
                "metadata": {"name": f"nurse-{i}", "namespace": "nurse", "labels": {"app": "nurse"}},
                "spec": {"nodeName": f"n{i}", "containers": [{"name": "n", "image": "kubevigil"}]}})
            status = {"phase": "Running", "podIP": f"{prefix}{i + 1}", "hostIP": f"{prefix}{i + 1}"}
            store.patch(by_kind("Pod"), "nurse", f"nurse-{i}", "application/merge-patch+json", {"status": status},
                        subresource="status")
        cluster.write_kubeconfig(kubeconfig)
        conn.send("ready")
        await asyncio.get_running_loop().run_in_executor(None, conn.recv)
    for runner in runners:
        await runner.cleanup()


def child(prefix: str, kubeconfig: str, conn: Any) -> None:
    asyncio.run(_peers_and_emulator(prefix, kubeconfig, conn))


async def per_check(prefix: str, checks: int) -> float:
    import ssl

    from kubevigil.roles.nurse.probe import Check, Prober, plain_context, traced_context

    async def no_headers() -> dict[str, str]:
        return {}

    prober = Prober(plain_tls=plain_context(insecure=False, extra_ca=None, cluster_ca=False),
                    api_tls=traced_context(ssl.create_default_context()), api_headers=no_headers, timeout=6,
                    connect_timeout=5)
    targets = [Check(f"path_n{i}", f"http://{prefix}{i + 1}:8080/alwayshappy", origin="bench")
               for i in range(1, NEIGHBOURS + 1)]
    await asyncio.gather(*(prober.check(t) for t in targets))  # warm-up
    cpu = time.process_time()
    done = 0
    while done < checks:
        outcomes = await asyncio.gather(*(prober.check(t) for t in targets))
        assert all(o.ok for o in outcomes), outcomes
        done += len(targets)
    spent = time.process_time() - cpu
    await prober.close()
    return spent * 1000 / done * 1000


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def _cpu_seconds(pid: int) -> float:
    """User + system CPU of process `pid` (fields 14 and 15 of /proc/<pid>/stat, in clock ticks)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _rounds(base: str) -> int:
    with urllib.request.urlopen(f"{base}/metrics", timeout=5) as answer:
        body = answer.read().decode()
    return sum(int(float(line.rsplit(" ", 1)[1])) for line in body.splitlines()
               if line.startswith('kubenurse_httpclient_requests_total{') and 'type="api_server_direct"' in line)


def steady(prefix: str, kubeconfig: str, seconds: float, tmp: Path, python: str) -> tuple[float, float, float, int]:
    """`kubevigil run` with only the nurse, as the DaemonSet runs it, in its own process: CPU share, RSS, peak RSS."""
    config = {"cluster": {"name": "bench", "kubeconfig": kubeconfig}, "server": {"listen": f"{prefix}1:8080"},
              "state_dir": str(tmp / "state"), "logging": {"level": "warning"},
              "nurse": {"interval_seconds": 5, "shutdown_seconds": 0, "api_server": {"dns_name": "localhost"},
                        "neighbours": {"namespace": "nurse", "selector": "app=nurse", "limit": 10}}}
    path = tmp / "config.yaml"
    path.write_text(yaml.safe_dump(config))
    env = {**os.environ, "POD_NAME": "nurse-0", "POD_NAMESPACE": "nurse", "NODE_NAME": "n0", "POD_IP": f"{prefix}1"}
    proc = subprocess.Popen([python, "-m", "kubevigil.cli", "run", "--config", str(path)], env=env)
    try:
        time.sleep(12)  # warm-up: start, sync, first rounds
        base = f"http://{prefix}1:8080"
        cpu, wall, rounds = _cpu_seconds(proc.pid), time.monotonic(), _rounds(base)
        time.sleep(seconds)
        share = (_cpu_seconds(proc.pid) - cpu) / (time.monotonic() - wall)
        rounds = _rounds(base) - rounds
        rss = _rss_mb(proc.pid)
        peak = next(int(line.split()[1]) / 1024 for line in Path(f"/proc/{proc.pid}/status").read_text().splitlines()
                    if line.startswith("VmHWM:"))
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)
    return share, rss, peak, rounds


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--checks", type=int, default=1000)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--python", default=sys.executable,
                        help="interpreter of the `kubevigil run` process, e.g. a venv with `pip install .` and no "
                             "extras, as the image has (default: this one)")
    args = parser.parse_args()
    rng = random.SystemRandom()
    prefix = f"127.{rng.randint(100, 250)}.{rng.randint(0, 255)}."
    with tempfile.TemporaryDirectory() as tmp:
        kubeconfig = str(Path(tmp) / "kubeconfig")
        ctx = mp.get_context("spawn")
        parent, other = ctx.Pipe()
        proc = ctx.Process(target=child, args=(prefix, kubeconfig, other))
        proc.start()
        assert parent.recv() == "ready"
        try:
            cost = asyncio.run(per_check(prefix, args.checks))
            print(f"per_check: {cost:.0f} ms of nurse CPU per 1,000 checks ({cost / 1000:.2f} ms each)")
            share, rss, peak, rounds = steady(prefix, kubeconfig, args.seconds, Path(tmp), args.python)
            print(f"steady: {100 * share:.2f} % of one core over {args.seconds:.0f} s ({rounds} rounds of 10 "
                  f"neighbours + API server checks), RSS {rss:.0f} MB (peak {peak:.0f} MB)")
        finally:
            parent.send("stop")
            proc.join(timeout=30)


if __name__ == "__main__":
    main()
