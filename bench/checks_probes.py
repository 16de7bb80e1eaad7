"""Built-in `http` probe cost: CPU seconds of the probing process per 1,000 runs against a local server.

The server (aiohttp, a small 200 answer) runs in a spawned child process so the figure is the probe's own: request,
status check, body regex, timing, result. Runs share one aiohttp session, as the checks role's runs do, and go
`--concurrency` at a time.
Run:  .venv/bin/python bench/checks_probes.py [--runs 5000] [--concurrency 20]
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing as mp
import time
from collections.abc import Sequence


def _serve(port_queue: mp.Queue) -> None:  # type: ignore[type-arg]
    from aiohttp import web

    async def ok(request: web.Request) -> web.Response:
        return web.Response(text="status: ok\n")

    async def main() -> None:
        app = web.Application()
        app.add_routes([web.get("/healthz", ok)])
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port_queue.put(runner.addresses[0][1])
        await asyncio.Event().wait()

    asyncio.run(main())


async def _bench(url: str, runs: int, concurrency: int) -> tuple[float, float, int]:
    import aiohttp

    from kubevigil.core.clock import SystemClock
    from kubevigil.kube.client import KubeApi
    from kubevigil.roles.checks.probes import PROBES, ProbeEnv

    spec = PROBES["http"].model_validate({"url": url, "body_regex": "ok", "latency_budget_seconds": 5})
    async with aiohttp.ClientSession() as session:
        from kubevigil.kube.kubeconfig import anonymous

        env = ProbeEnv(api=KubeApi(anonymous("http://127.0.0.1:9")), clock=SystemClock(), http=session)
        failures = 0

        async def worker(n: int) -> None:
            nonlocal failures
            for _ in range(n):
                if not (await spec.run(env, timeout=10)).ok:
                    failures += 1

        await asyncio.gather(*(worker(20) for _ in range(concurrency)))  # warm up: connections, caches
        failures = 0
        cpu0, wall0 = time.process_time(), time.perf_counter()
        per = runs // concurrency
        await asyncio.gather(*(worker(per) for _ in range(concurrency)))
        cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
        await env.api.aclose()
    return cpu, wall, failures


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5000)
    parser.add_argument("--concurrency", type=int, default=20)
    args = parser.parse_args(argv)
    ctx = mp.get_context("spawn")
    ports: mp.Queue = ctx.Queue()  # type: ignore[type-arg]
    server = ctx.Process(target=_serve, args=(ports,), daemon=True)
    server.start()
    try:
        url = f"http://127.0.0.1:{ports.get(timeout=60)}/healthz"
        runs = args.runs // args.concurrency * args.concurrency
        cpu, wall, failures = asyncio.run(_bench(url, runs, args.concurrency))
    finally:
        server.terminate()
        server.join(timeout=10)
    print(f"{runs} http probe runs, {args.concurrency} at a time, {failures} failed: "
          f"{cpu:.2f} CPU s in {wall:.2f} s wall ({runs / wall:,.0f} runs/s)")
    print(f"RESULT checks_probes http_cpu_seconds_per_1000_runs={cpu / runs * 1000:.3f}")


if __name__ == "__main__":
    main()
