"""Scrape cycle of 1,000 pods serving the ipamd sample: bounded concurrency against serial, CPU per cycle.

The exporters run in a child process (pinned to the other core when there are two), each on its own loopback
address and one port, like aws-node pods on their node IPs. The scraper is the role's own JobRunner with its pod
informer cache filled directly: a cycle is target selection + HTTP + parse + aggregation, as in production.

    .venv/bin/python bench/scrape_cycle.py [--pods 1000] [--concurrency 50] [--cycles 3] [--latency 0.005]
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import random
import resource
import time
from pathlib import Path
from typing import Any

from prometheus_client import CollectorRegistry

from kubevigil.core.clock import SystemClock
from kubevigil.kube.informer import Informer
from kubevigil.kube.resources import by_kind
from kubevigil.roles.scrape.config import Job
from kubevigil.roles.scrape.jobs import JobRunner
from kubevigil.roles.scrape.targets import pod_view

SAMPLE = Path(__file__).resolve().parents[1] / "tests" / "anchors" / "cni-metrics-helper" / "ipamd-metrics-sample.txt"


def addresses(prefix: str, n: int) -> list[str]:
    return [f"{prefix}{i // 250}.{1 + i % 250}" for i in range(n)]


def serve(prefix: str, n: int, latency: float, ready: Any, stop: Any, port_out: Any) -> None:
    from aiohttp import web

    _pin(1)
    body = SAMPLE.read_bytes()

    async def handle(_: web.Request) -> web.Response:
        if latency:
            await asyncio.sleep(latency)  # a node across the VPC and ipamd rendering its registry
        return web.Response(body=body, headers={"Content-Type": "text/plain; version=0.0.4; charset=utf-8"})

    async def main() -> None:
        app = web.Application()
        app.router.add_get("/metrics", handle)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        ips = addresses(prefix, n)
        await web.TCPSite(runner, ips[0], 0, backlog=1024).start()
        port = runner.addresses[0][1]
        for ip in ips[1:]:
            await web.TCPSite(runner, ip, port, backlog=1024).start()
        port_out.value = port
        ready.set()
        while not stop.is_set():
            await asyncio.sleep(0.2)
        await runner.cleanup()

    asyncio.run(main())


def _pin(core: int) -> None:
    if hasattr(os, "sched_setaffinity") and (os.cpu_count() or 1) > 1:
        os.sched_setaffinity(0, {core})


def pod(i: int, ip: str) -> dict[str, Any]:
    return {"metadata": {"name": f"aws-node-{i}", "namespace": "kube-system", "uid": f"uid-{i}",
                         "resourceVersion": "1"},
            "spec": {"nodeName": f"node-{i}"},
            "status": {"phase": "Running", "podIP": ip, "hostIP": ip,
                       "conditions": [{"type": "Ready", "status": "True"}]}}


async def cycles(ips: list[str], port: int, concurrency: int, count: int) -> list[tuple[float, float, int]]:
    """(wall seconds, CPU seconds, pods scraped) of `count` cycles."""
    job = Job.model_validate({"name": "bench", "port": port, "concurrency": concurrency, "timeout": 20})
    runner = JobRunner(job, None, SystemClock())
    runner.informer = Informer(None, by_kind("Pod"), registry=CollectorRegistry(), cache_view=pod_view)  # type: ignore[arg-type]
    for i, ip in enumerate(ips):
        runner.informer._cache.put(("kube-system", f"aws-node-{i}"), pod_view(pod(i, ip)))
    out = []
    try:
        for _ in range(count):
            wall, cpu = time.perf_counter(), time.process_time()
            report = await runner.cycle()
            out.append((time.perf_counter() - wall, time.process_time() - cpu, report.scraped))
            assert not report.failures, report.failures[:3]
    finally:
        await runner.aclose()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pods", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--cycles", type=int, default=3)
    parser.add_argument("--latency", type=float, default=0.0, help="seconds each exporter waits before answering")
    args = parser.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, max(soft, 4 * args.pods + 256)), hard))
    prefix = f"127.{random.randint(100, 250)}."
    ctx = multiprocessing.get_context("spawn")
    ready, stop, port = ctx.Event(), ctx.Event(), ctx.Value("i", 0)
    child = ctx.Process(target=serve, args=(prefix, args.pods, args.latency, ready, stop, port), daemon=True)
    child.start()
    try:
        if not ready.wait(120):
            raise SystemExit("exporters did not start")
        _pin(0)
        ips = addresses(prefix, args.pods)
        bounded = asyncio.run(cycles(ips, port.value, args.concurrency, args.cycles))
        serial = asyncio.run(cycles(ips, port.value, 1, 1))
    finally:
        stop.set()
        child.join(10)
    for n, (wall, cpu, scraped) in enumerate(bounded, 1):
        print(f"cycle {n}, concurrency {args.concurrency}: {wall:.2f} s wall, {cpu:.2f} s CPU, {scraped} pods")
    best = min(w for w, _, _ in bounded)
    print(f"serial (concurrency 1): {serial[0][0]:.2f} s wall, {serial[0][1]:.2f} s CPU")
    print(f"cycle time {args.pods} pods, {args.latency * 1000:g} ms answer latency: {best:.2f} s bounded vs {serial[0][0]:.2f} s serial "
          f"({serial[0][0] / best:.1f}x); CPU per cycle {min(c for _, c, _ in bounded):.2f} s; target <= 3 s")


if __name__ == "__main__":
    main()
