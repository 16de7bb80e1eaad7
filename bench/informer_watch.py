"""Benchmark: sustained MODIFIED events/s the informer applies to its cache from the emulator.

The emulator (plain HTTP, and a writer touching pods as fast as the informer keeps up) runs in a child process;
its rate and CPU time are reported separately. Prints one figure line. Usage: .venv/bin/python bench/informer_watch.py [--pods 1000] [--seconds 10]
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing as mp
import os
import sys
import tempfile
import time
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from informer_list import pin_to_cpu, realistic_pod

HISTORY = 20_000  # the emulator's watch window, far more than MAX_AHEAD: no 410 while the informer keeps up
BATCH = 100  # writes between yields to the event loop (where the watch handler sends them)
MAX_AHEAD = 2_000  # writes the writer may be ahead of what the informer applied (well inside HISTORY)


def serve_and_write(conn: Any, pods: int, kubeconfig: str) -> None:
    """Child: emulator (plain HTTP) + a writer that touches pods round-robin, in batches, until told to stop.

    The parent sends the informer's applied count now and then; the writer pauses while it is more than half
    the history window ahead, so a slower informer is measured at its own pace instead of falling into 410s.
    """
    from kubevigil.kube.resources import by_kind
    from kubevigil.sim.cluster import Cluster

    pin_to_cpu(1)

    async def main() -> None:
        async with Cluster(workloads=False, tls=False, history=HISTORY) as c:
            res = by_kind("Pod")
            c.store.create(by_kind("Namespace"), {"apiVersion": "v1", "kind": "Namespace",
                                                  "metadata": {"name": "workloads"}})
            names = [c.store.create(res, realistic_pod(i))["metadata"]["name"] for i in range(pods)]
            c.write_kubeconfig(kubeconfig)
            conn.send("ready")
            loop = asyncio.get_running_loop()
            await loop.run_in_executor(None, conn.recv)  # "go"
            writes, applied, paused = 0, 0, 0
            w0, cpu0 = time.perf_counter(), time.process_time()
            while True:
                while conn.poll():
                    msg = conn.recv()
                    if msg == "stop":
                        wall, cpu = time.perf_counter() - w0, time.process_time() - cpu0
                        conn.send((writes, wall, cpu, paused))
                        return
                    applied = msg
                if writes - applied >= MAX_AHEAD:
                    paused += 1
                    await asyncio.sleep(0.001)
                    continue
                for _ in range(BATCH):
                    c.store.touch(res, "workloads", names[writes % pods])
                    writes += 1
                await asyncio.sleep(0)  # let the watch handler stream what was written
    asyncio.run(main())


async def bench(kubeconfig: str, conn: Any, seconds: float) -> dict[str, float]:
    from prometheus_client import CollectorRegistry

    from kubevigil.kube.client import connect
    from kubevigil.kube.informer import Informer
    from kubevigil.kube.resources import by_kind

    api = await connect(kubeconfig)
    registry = CollectorRegistry()
    inf = Informer(api, by_kind("Pod"), namespace="workloads", registry=registry)
    task = asyncio.create_task(inf.run())
    await inf.synced.wait()

    def modified() -> float:
        return registry.get_sample_value("kubevigil_informer_events_total",
                                         {"informer": inf.name, "type": "MODIFIED"}) or 0.0

    async def report_progress(base: float) -> None:
        while True:
            conn.send(int(modified() - base))
            await asyncio.sleep(0.02)

    progress = asyncio.create_task(report_progress(modified()))
    conn.send("go")
    await asyncio.sleep(1.0)  # warm-up: the stream is running at full speed
    n0, t0, c0 = modified(), time.perf_counter(), time.process_time()
    await asyncio.sleep(seconds)
    n1, t1, c1 = modified(), time.perf_counter(), time.process_time()
    progress.cancel()
    conn.send("stop")
    relists = registry.get_sample_value("kubevigil_informer_relists_total", {"informer": inf.name}) or 0.0
    # Two floors, same process, no network: decoding one event line over and over (hot in the CPU cache), and
    # decoding each pod's line in turn into a dict of 1,000 that replaces (frees) the previous object, as a cache must.
    import orjson
    lines = [orjson.dumps({"type": "MODIFIED", "object": o}) for o in inf.cache.list()]
    p0 = time.process_time()
    for _ in range(5000):
        orjson.loads(lines[0])
    floor = 5000 / (time.process_time() - p0)
    kept = {i: orjson.loads(line) for i, line in enumerate(lines)}
    p0 = time.process_time()
    for _ in range(5):
        for i, line in enumerate(lines):
            kept[i] = orjson.loads(line)
    replace_floor = 5 * len(lines) / (time.process_time() - p0)
    task.cancel()
    await asyncio.gather(task, progress, return_exceptions=True)
    await api.aclose()
    return {"events": n1 - n0, "wall": t1 - t0, "cpu": c1 - c0, "floor": floor, "replace_floor": replace_floor,
            "relists": relists}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--pods", type=int, default=1000)
    ap.add_argument("--seconds", type=float, default=10.0)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        kubeconfig = os.path.join(tmp, "kubeconfig")
        parent, child = mp.Pipe()
        proc = mp.get_context("spawn").Process(target=serve_and_write, args=(child, args.pods, kubeconfig),
                                               daemon=True)
        proc.start()
        if not parent.poll(300):
            raise SystemExit("emulator did not start within 300 s")
        parent.recv()
        pin_to_cpu(0)
        try:
            r = asyncio.run(bench(kubeconfig, parent, args.seconds))
            writes, emu_wall, emu_cpu, paused = parent.recv() if parent.poll(60) else (0, 0.0, 0.0, 0)
        finally:
            proc.join(10)
            if proc.is_alive():
                proc.terminate()
    rate = r["events"] / r["wall"]
    per_cpu = r["events"] / r["cpu"] if r["cpu"] else 0.0
    emu_rate = writes / emu_wall if emu_wall else 0.0
    emu_per_cpu = writes / emu_cpu if emu_cpu else 0.0
    print(f"informer_watch pod_kb~6 events/s={rate:,.0f} informer_cpu_util={r['cpu'] / r['wall']:.2f} "
          f"events_per_informer_cpu_s={per_cpu:,.0f} bare_orjson_loads_per_cpu_s={r['floor']:,.0f} "
          f"loads_and_replace_in_1000_per_cpu_s={r['replace_floor']:,.0f} "
          f"relists={r['relists']:.0f} | emulator (writer+watch, own process): events={writes} "
          f"events/s={emu_rate:,.0f} cpu_util={emu_cpu / emu_wall if emu_wall else 0:.2f} "
          f"events_per_emulator_cpu_s={emu_per_cpu:,.0f} writer_pauses={paused}")


if __name__ == "__main__":
    main()
