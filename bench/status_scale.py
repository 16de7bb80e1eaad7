"""Status role at scale: 5,000 Deployments, 100 of them flipping readiness per second.

Reports, in one run:
  (a) API requests kubevigil makes per interval after sync (watch streams only) against a poll-per-target
      design (one GET per target per interval) run against the same emulator,
  (b) CPU seconds kubevigil's process spends per interval,
  (c) delay from a flip (status write in the emulator) to the published per-target value, with publish_on_change.

The emulator (and the flipper) run in a child process so the CPU figure is kubevigil's own.
Run:  .venv/bin/python bench/status_scale.py [--deployments 5000] [--flips 100] [--seconds 10] [--intervals 3]
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import multiprocessing as mp
import random
import statistics
import tempfile
import time
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

NS = "bench"


def _status(ready: bool) -> dict[str, Any]:
    n = 1 if ready else 0
    return {"observedGeneration": 1, "replicas": 1, "updatedReplicas": 1, "readyReplicas": n,
            "availableReplicas": n, "conditions": [{"type": "Available", "status": "True" if ready else "False"}]}


def _deployment(i: int) -> dict[str, Any]:
    name = f"d-{i:05d}"
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name, "namespace": NS},
            "spec": {"replicas": 1, "selector": {"matchLabels": {"app": name}},
                     "template": {"metadata": {"labels": {"app": name}},
                                  "spec": {"containers": [{"name": "app", "image": "example/app:1"}]}}}}


async def _emulator(n: int, flips: int, kubeconfig: str, conn: Any) -> None:
    from kubevigil.kube.resources import by_kind
    from kubevigil.sim.cluster import Cluster

    deploy = by_kind("Deployment")
    async with Cluster(workloads=False, bookmark_interval=5.0, history=200_000) as cluster:
        store = cluster.store
        store.create(by_kind("Namespace"), {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NS}})
        for i in range(n):
            store.create(deploy, _deployment(i))
            store.patch(deploy, NS, f"d-{i:05d}", "application/merge-patch+json", {"status": _status(True)},
                        subresource="status")
        cluster.write_kubeconfig(kubeconfig)
        conn.send("ready")
        await asyncio.get_running_loop().run_in_executor(None, conn.recv)  # "flip"
        ready = [True] * n
        log: list[tuple[float, str, int]] = []
        rng = random.Random(1)
        tick = 0.05
        per_tick = max(1, round(flips * tick))
        next_at = time.monotonic()
        while not conn.poll():
            for i in rng.sample(range(n), per_tick):
                ready[i] = not ready[i]
                name = f"d-{i:05d}"
                log.append((time.time(), name, int(ready[i])))
                store.patch(deploy, NS, name, "application/merge-patch+json", {"status": _status(ready[i])},
                            subresource="status")
            next_at += tick
            await asyncio.sleep(max(0.0, next_at - time.monotonic()))
        conn.recv()  # "stop"
        conn.send(log)


def emulator_process(n: int, flips: int, kubeconfig: str, conn: Any) -> None:
    asyncio.run(_emulator(n, flips, kubeconfig, conn))


class RecordingOutlet:
    """Stands in for delivery: remembers when each per-target value was handed over."""

    name = "bench"
    kinds = frozenset({"metric"})

    def __init__(self) -> None:
        self.seen: dict[str, list[tuple[float, int]]] = defaultdict(list)
        self.puts = 0

    async def put(self, items: Sequence[Any]) -> None:
        now = time.time()
        self.puts += 1
        for m in items:
            for k, v in m.dimensions:
                if k == "target":
                    self.seen[v].append((now, int(m.value)))


def _delays(flips: list[tuple[float, str, int]], seen: dict[str, list[tuple[float, int]]]) -> list[float]:
    out = []
    for t, name, value in flips:
        for when, v in seen.get(f"{NS}/{name}", ()):
            if when >= t and v == value:
                out.append(when - t)
                break
    return out


async def run(args: argparse.Namespace) -> None:
    from prometheus_client import CollectorRegistry

    from kubevigil.core.clock import SystemClock
    from kubevigil.kube.client import connect
    from kubevigil.kube.resources import by_kind
    from kubevigil.roles.role import PodIdentity, RoleContext
    from kubevigil.roles.status.config import StatusSection
    from kubevigil.roles.status.role import StatusRole

    logging.getLogger().setLevel(logging.WARNING)
    import structlog

    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))

    tmp = Path(tempfile.mkdtemp())
    kubeconfig = str(tmp / "kubeconfig")
    ctx_mp = mp.get_context("spawn")
    parent, child = ctx_mp.Pipe()
    proc = ctx_mp.Process(target=emulator_process, args=(args.deployments, args.flips, kubeconfig, child))
    t0 = time.monotonic()
    proc.start()
    await asyncio.get_running_loop().run_in_executor(None, parent.recv)
    print(f"emulator seeded with {args.deployments} Deployments in {time.monotonic() - t0:.1f} s")

    import aiohttp

    api = await connect(kubeconfig)
    requests: list[tuple[float, str, str]] = []

    async def count(_session: Any, _ctx: Any, params: Any) -> None:
        requests.append((time.monotonic(), params.method, str(params.url.path)))

    tracing = aiohttp.TraceConfig()
    tracing.on_request_start.append(count)
    tracing.freeze()
    # measurement only (private): every HTTP request the client's session sends
    api._session.http._trace_configs.append(tracing)
    outlet = RecordingOutlet()
    section = StatusSection.model_validate({
        "seconds": args.seconds, "publish_on_change": True, "per_target": True, "sinks": ["bench"],
        "metric": {"name": "Healthy"},
        "targets": [{"kind": "Deployment", "namespace": NS, "name": f"d-{i:05d}", "id": f"{NS}/d-{i:05d}"}
                    for i in range(args.deployments)],
    })
    ctx = RoleContext(cluster_name="bench", api=api, outlets={"bench": outlet}, clock=SystemClock(),
                      registry=CollectorRegistry(), state_dir=tmp, pod=PodIdentity("bench"))
    role = StatusRole(section, ctx)
    t_sync = time.monotonic()
    task = asyncio.create_task(role.run())
    while role.publishes == 0:
        await asyncio.sleep(0.01)
    sync_s = time.monotonic() - t_sync
    print(f"synced and first value published in {sync_s:.2f} s ({len(requests)} requests incl. connect)")

    parent.send("flip")
    await asyncio.sleep(1.0)  # let the flipper reach its rate
    window_start, window_start_wall = time.monotonic(), time.time()
    n_requests = len(requests)
    cpu0 = time.process_time()
    await asyncio.sleep(args.seconds * args.intervals)
    cpu = time.process_time() - cpu0
    window, window_end_wall = time.monotonic() - window_start, time.time()
    role_requests = len(requests) - n_requests
    open_watches = len(role.watches.informers)  # read while running: stopping the role closes its watches
    intervals = window / args.seconds

    # The poll-per-target design in the same run: one GET per target, as kubestatus2cloudwatch does each interval.
    deploy = by_kind("Deployment")
    sem = asyncio.Semaphore(32)
    before = len(requests)
    cpu_poll0, t_poll0 = time.process_time(), time.monotonic()

    async def get(i: int) -> None:
        async with sem:
            await api.get(deploy, NS, f"d-{i:05d}")

    await asyncio.gather(*(get(i) for i in range(args.deployments)))
    poll_requests = len(requests) - before
    poll_cpu, poll_wall = time.process_time() - cpu_poll0, time.monotonic() - t_poll0
    await asyncio.sleep(1.0)  # the watch events of the window's last flips may wait behind the poll round's answers

    parent.send("stop")
    flips = await asyncio.get_running_loop().run_in_executor(None, parent.recv)
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    await api.aclose()
    proc.join(timeout=30)

    # Only flips inside the measured window: during the poll round the shared event loop is saturated by GETs.
    measured = [f for f in flips if window_start_wall <= f[0] <= window_end_wall]
    delays = sorted(_delays(measured, outlet.seen))
    lost = len(measured) - len(delays)
    p50 = statistics.median(delays) if delays else float("nan")
    p95 = delays[int(len(delays) * 0.95)] if delays else float("nan")
    flip_rate = len(flips) / max(1e-9, flips[-1][0] - flips[0][0]) if len(flips) > 1 else 0.0
    print(f"flips: {len(flips)} at {flip_rate:.0f}/s; publishes handed to the outlet: {outlet.puts}")
    print(f"(a) API requests per interval after sync: {role_requests / intervals:.1f} "
          f"(watch streams open: {open_watches}) vs poll-per-target: {poll_requests} "
          f"(took {poll_wall:.1f} s wall, {poll_cpu:.2f} s CPU)")
    print(f"(b) CPU seconds per {args.seconds:g} s interval: {cpu / intervals:.3f} "
          f"({100 * cpu / window:.1f}% of one core)")
    print(f"(c) flip -> published delay: p50 {p50 * 1000:.0f} ms, p95 {p95 * 1000:.0f} ms, "
          f"max {max(delays, default=float('nan')) * 1000:.0f} ms over {len(measured)} flips; never published: {lost}")
    print(f"RESULT status_scale deployments={args.deployments} flips_per_s={flip_rate:.0f} "
          f"requests_per_interval={role_requests / intervals:.1f} poll_requests={poll_requests} "
          f"cpu_s_per_interval={cpu / intervals:.3f} delay_p95_ms={p95 * 1000:.0f}")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--deployments", type=int, default=5000)
    p.add_argument("--flips", type=int, default=100, help="readiness flips per second")
    p.add_argument("--seconds", type=float, default=10.0, help="the status interval")
    p.add_argument("--intervals", type=int, default=3, help="intervals measured after sync")
    asyncio.run(run(p.parse_args()))


if __name__ == "__main__":
    main()
