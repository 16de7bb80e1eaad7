"""The nurse's own cost: CPU per 1,000 checks, and a nurse with 10 neighbours at a 5 s interval (CPU share, RSS).

The emulator and the neighbours (aiohttp servers, each on its own loopback address, port 8080) run in a child
process, so the figures are the nurse process's alone.
Prints:
  per_check:  nurse CPU milliseconds per 1,000 checks of a neighbour (plain HTTP, a new connection each, traced)
  steady:     CPU share of one core and RSS of a whole kubevigil process running only the nurse role (informers,
              API server checks, 10 neighbours, /metrics), over --seconds after a warm-up
Run:  .venv/bin/python bench/nurse_probe.py [--checks 1000] [--seconds 60]
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing as mp
import random
import resource
import tempfile
import time
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


def _rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


async def steady(prefix: str, kubeconfig: str, seconds: float, tmp: Path) -> tuple[float, float, float, int]:
    import os

    from kubevigil.catalog import load
    from kubevigil.runtime import Runtime

    config = {"cluster": {"name": "bench", "kubeconfig": kubeconfig}, "server": {"listen": f"{prefix}1:8080"},
              "state_dir": str(tmp / "state"), "logging": {"level": "warning"},
              "nurse": {"interval_seconds": 5, "shutdown_seconds": 0, "api_server": {"dns_name": "localhost"},
                        "neighbours": {"namespace": "nurse", "selector": "app=nurse", "limit": 10}}}
    path = tmp / "config.yaml"
    path.write_text(yaml.safe_dump(config))
    settings = load(path, environ={}).settings
    os.environ.update(POD_NAME="nurse-0", POD_NAMESPACE="nurse", NODE_NAME="n0", POD_IP=f"{prefix}1")
    runtime = Runtime(settings, ["nurse"])
    await runtime.start()
    role = runtime._roles["nurse"]
    await asyncio.sleep(12)  # warm-up: sync, first rounds
    cpu, wall, rounds = time.process_time(), time.monotonic(), role._rounds
    await asyncio.sleep(seconds)
    share = (time.process_time() - cpu) / (time.monotonic() - wall)
    rounds = role._rounds - rounds
    checked = len(role.latest.checked)
    rss = _rss_mb()
    await runtime.stop()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return share, rss, peak, rounds * 100 + checked


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--checks", type=int, default=1000)
    parser.add_argument("--seconds", type=float, default=60)
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
            share, rss, peak, packed = asyncio.run(steady(prefix, kubeconfig, args.seconds, Path(tmp)))
            rounds, checked = divmod(packed, 100)
            print(f"steady: {100 * share:.2f} % of one core over {args.seconds:.0f} s ({rounds} rounds of "
                  f"{checked} neighbours + API server checks), RSS {rss:.0f} MB (peak {peak:.0f} MB, incl. the "
                  f"per-check phase)")
        finally:
            parent.send("stop")
            proc.join(timeout=30)


if __name__ == "__main__":
    main()
