"""The checks role at scale: 2,000 HealthChecks with built-in `http` probes every 10 s, then the same as `job` runs.

Reports, in one run:
  (a) p99 lateness of a run's start against its schedule (probe phase, after one warm-up interval),
  (b) CPU seconds of kubevigil's process per 1,000 probe runs, and its peak RSS,
  (c) API writes per run (every write the emulator commits, divided by finished runs) for probe runs and for the
      same checks as `job` runs (Jobs, their pods and status, as the emulator's controllers write them).

The emulator and the probed HTTP server run in a child process, so CPU and RSS are kubevigil's own. The probes are
the real built-in `http` probe (kubevigil.roles.checks.probes: status, body read, result message, values).
Run:  .venv/bin/python bench/checks_scale.py [--checks 2000] [--every 10] [--seconds 60] [--job-checks 200]
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing as mp
import resource
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

NS = "bench"


def _probe_check(i: int, every: int, port: int) -> dict[str, Any]:
    return {"apiVersion": "kubevigil.io/v1", "kind": "HealthCheck", "metadata": {"name": f"c-{i:05d}", "namespace": NS},
            "spec": {"schedule": {"every": f"{every}s"}, "timeout": "5s",
                     "probe": {"http": {"url": f"http://127.0.0.1:{port}/healthz"}}}}


def _job_check(i: int, every: int) -> dict[str, Any]:
    return {"apiVersion": "kubevigil.io/v1", "kind": "HealthCheck", "metadata": {"name": f"j-{i:05d}", "namespace": NS},
            "spec": {"schedule": {"every": f"{every}s"}, "timeout": "60s", "job": {"template": {
                "metadata": {"annotations": {"sim.kubevigil.io/duration": "1s"}},
                "spec": {"containers": [{"name": "check", "image": "busybox"}]}}}}}


async def _emulator(args: argparse.Namespace, kubeconfig: str, conn: Any) -> None:
    from aiohttp import web

    from kubevigil.kube.resources import by_kind
    from kubevigil.roles.checks.crd import crds
    from kubevigil.sim.cluster import Cluster

    async def ok(_: web.Request) -> web.Response:
        return web.Response(text="ok")

    app = web.Application()
    app.add_routes([web.get("/healthz", ok)])
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    async with Cluster(workloads=True, bookmark_interval=5.0, history=500_000) as cluster:
        store = cluster.store
        for crd in crds():
            store.create(by_kind("CustomResourceDefinition"), crd)
        store.create(by_kind("Namespace"), {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NS}})
        for n in range(3):
            cluster.add_node(f"node-{n}")
        res = store.resource("kubevigil.io/v1", "HealthCheck")
        for i in range(args.checks):
            store.create(res, _probe_check(i, args.every, port))
        cluster.write_kubeconfig(kubeconfig)
        loop = asyncio.get_running_loop()
        while True:
            cmd = await loop.run_in_executor(None, conn.recv)
            if cmd == "writes":
                conn.send(store.resource_version)
            elif cmd == "cpu":
                conn.send(_cpu())
            elif cmd == "jobs":
                for i in range(args.checks):
                    store.delete(res, NS, f"c-{i:05d}")
                for i in range(args.job_checks):
                    store.create(res, _job_check(i, args.every))
                conn.send(store.resource_version)
            else:
                break
    await runner.cleanup()


def _quiet() -> None:
    from kubevigil.core.logs import configure

    configure("warning", "console")


def _child(args: argparse.Namespace, kubeconfig: str, conn: Any) -> None:
    _quiet()
    asyncio.run(_emulator(args, kubeconfig, conn))


def _cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


async def _measure(args: argparse.Namespace, kubeconfig: str, conn: Any) -> None:
    from prometheus_client import CollectorRegistry

    from kubevigil.core.clock import SystemClock
    from kubevigil.kube.client import connect
    from kubevigil.roles.checks.config import ChecksSection
    from kubevigil.roles.checks.controller import ChecksRole
    from kubevigil.roles.role import PodIdentity, RoleContext

    api = await connect(kubeconfig)
    ctx = RoleContext(cluster_name="bench", api=api, outlets={}, clock=SystemClock(), registry=CollectorRegistry(),
                      state_dir=Path(tempfile.mkdtemp()), pod=PodIdentity("bench"))
    role = ChecksRole(ChecksSection.model_validate({"workers": args.workers, "jitter": 1.0, "max_jitter": args.every}),
                      ctx)
    task = asyncio.create_task(role.run())
    loop = asyncio.get_running_loop()

    async def ask(cmd: str) -> Any:
        conn.send(cmd)
        return await loop.run_in_executor(None, conn.recv)

    while not role.readiness().ok:
        await asyncio.sleep(0.2)
    await asyncio.sleep(args.every * 3)  # warm-up: the first runs of every check, spread by the seeded jitter
    role.recent_lateness.clear()
    runs0, cpu0, writes0, t0 = role.runs_finished, _cpu(), await ask("writes"), time.monotonic()
    emulator_cpu0 = await ask("cpu")
    await asyncio.sleep(args.seconds)
    runs, cpu, writes = role.runs_finished - runs0, _cpu() - cpu0, await ask("writes") - writes0
    emulator_cpu = await ask("cpu") - emulator_cpu0
    late = sorted(role.recent_lateness)
    p99 = late[int(0.99 * (len(late) - 1))] if late else float("nan")
    wall = time.monotonic() - t0
    print(f"probe runs: {runs} in {wall:.0f} s ({runs / wall:.0f}/s) for {args.checks} checks every {args.every} s")
    p50 = late[len(late) // 2] if late else float("nan")
    print(f"p99 start lateness vs schedule: {p99:.3f} s (p50 {p50:.3f} s, max {late[-1] if late else float('nan'):.3f} s, "
          f"{len(late)} starts)")
    print(f"CPU per 1,000 probe runs: {1000 * cpu / max(runs, 1):.2f} s ({cpu / wall:.2f} of a core)")
    print(f"emulator + probed server (child process): {emulator_cpu / (time.monotonic() - t0):.2f} of a core")
    print(f"peak RSS: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")
    print(f"API writes per probe run: {writes / max(runs, 1):.2f}")

    await ask("jobs")
    await asyncio.sleep(args.every * 1.5)
    runs0, writes0, t0 = role.runs_finished, await ask("writes"), time.monotonic()
    await asyncio.sleep(args.seconds)
    runs, writes = role.runs_finished - runs0, await ask("writes") - writes0
    print(f"job runs: {runs} in {time.monotonic() - t0:.0f} s for {args.job_checks} checks every {args.every} s")
    print(f"API writes per job run: {writes / max(runs, 1):.2f}")
    conn.send("stop")
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    await api.aclose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checks", type=int, default=2000)
    parser.add_argument("--job-checks", type=int, default=200)
    parser.add_argument("--every", type=int, default=10)
    parser.add_argument("--seconds", type=int, default=60)
    parser.add_argument("--workers", type=int, default=256)
    args = parser.parse_args()
    _quiet()
    kubeconfig = str(Path(tempfile.mkdtemp()) / "kubeconfig")
    parent, child = mp.get_context("spawn").Pipe()
    proc = mp.get_context("spawn").Process(target=_child, args=(args, kubeconfig, child), daemon=True)
    proc.start()
    while not Path(kubeconfig).exists():
        time.sleep(0.1)
    try:
        asyncio.run(_measure(args, kubeconfig, parent))
    finally:
        proc.join(timeout=30)
        if proc.is_alive():
            proc.terminate()


if __name__ == "__main__":
    main()
