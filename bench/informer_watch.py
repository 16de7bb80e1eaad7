"""Benchmark: sustained MODIFIED events/s the informer applies to its cache from the emulator.

The emulator (and a writer modifying pods as fast as it can) runs in a child process; its CPU time is reported
separately. Prints one figure line. Usage: .venv/bin/python bench/informer_watch.py [--pods 1000] [--seconds 10]
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing as mp
import os
import resource
import sys
import tempfile
import time
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from informer_list import realistic_pod  # noqa: E402


def serve_and_write(conn: Any, pods: int, kubeconfig: str) -> None:
    """Child: emulator + a writer that replaces pods round-robin until told to stop."""
    from kubevigil.kube.resources import by_kind
    from kubevigil.sim.cluster import Cluster

    async def main() -> None:
        async with Cluster(workloads=False) as c:
            res = by_kind("Pod")
            c.store.create(by_kind("Namespace"), {"apiVersion": "v1", "kind": "Namespace",
                                                  "metadata": {"name": "workloads"}})
            for i in range(pods):
                c.store.create(res, realistic_pod(i))
            c.write_kubeconfig(kubeconfig)
            conn.send("ready")
            loop = asyncio.get_running_loop()
            await loop.run_in_executor(None, conn.recv)  # "go"
            stop = loop.run_in_executor(None, conn.recv)  # "stop"
            names = [realistic_pod(i)["metadata"]["name"] for i in range(pods)]
            writes, i = 0, 0
            cpu0 = time.process_time()
            while not stop.done():
                obj = c.store.get(res, "workloads", names[i % pods])
                obj["metadata"].setdefault("annotations", {})["bench/seq"] = str(writes)
                c.store.replace(res, obj)
                writes += 1
                i += 1
                if writes % 50 == 0:
                    await asyncio.sleep(0)  # let the watch handlers stream what was written
            conn.send((writes, time.process_time() - cpu0))
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
    conn.send("go")
    await asyncio.sleep(1.0)  # warm-up: the stream is running at full speed
    n0, t0, c0 = modified(), time.perf_counter(), time.process_time()
    await asyncio.sleep(seconds)
    n1, t1, c1 = modified(), time.perf_counter(), time.process_time()
    conn.send("stop")
    # The floor: decoding the same watch event lines bare, as fast as this CPU can.
    import orjson
    sample = next(iter(inf.cache.list()))
    line = orjson.dumps({"type": "MODIFIED", "object": sample})
    p0 = time.process_time()
    for _ in range(2000):
        orjson.loads(line)
    floor = 2000 / (time.process_time() - p0)
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    await api.aclose()
    return {"events": n1 - n0, "wall": t1 - t0, "cpu": c1 - c0, "floor": floor}


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
        try:
            r = asyncio.run(bench(kubeconfig, parent, args.seconds))
            writes, emu_cpu = parent.recv() if parent.poll(60) else (0, 0.0)
        finally:
            proc.join(10)
            if proc.is_alive():
                proc.terminate()
    rate = r["events"] / r["wall"]
    per_cpu = r["events"] / r["cpu"] if r["cpu"] else 0.0
    print(f"informer_watch pod_kb~6 events/s={rate:,.0f} informer_cpu_util={r['cpu'] / r['wall']:.2f} "
          f"events_per_informer_cpu_s={per_cpu:,.0f} bare_orjson_loads_per_cpu_s={r['floor']:,.0f} emulator_writes={writes} emulator_cpu_s={emu_cpu:.1f} "
          f"(whole run, incl. its writer)")


if __name__ == "__main__":
    main()
