"""Neighbour selection on 10,000 nodes: the ring alone, and the whole candidate computation from informer caches.

Prints (median of --repeat runs, milliseconds):
  ring:        choosing K=10 of 10,000 prepared candidates (node hashes computed once, as the role caches them)
  candidates:  filtering 10,000 cached nurse pods against 10,000 cached nodes, then the ring, as after a change
Run:  .venv/bin/python bench/nurse_ring.py [--nodes 10000] [--limit 10] [--repeat 21]
"""

from __future__ import annotations

import argparse
import statistics
import time
from typing import Any

from kubevigil.roles.nurse.ring import Neighbour, nearest_clockwise, zone_aware


def _pod(i: int) -> dict[str, Any]:
    return {"metadata": {"name": f"nurse-{i:05d}", "namespace": "nurse", "uid": f"u{i}", "resourceVersion": "1"},
            "spec": {"nodeName": f"ip-10-{i // 250}-{i % 250}.eu-west-1.compute.internal"},
            "status": {"phase": "Running", "podIP": f"127.1.{i // 250}.{i % 250}", "hostIP": "127.2.0.1"}}


def _node(i: int) -> dict[str, Any]:
    return {"metadata": {"name": f"ip-10-{i // 250}-{i % 250}.eu-west-1.compute.internal", "uid": f"n{i}",
                         "resourceVersion": "1", "labels": {"topology.kubernetes.io/zone": "eu-west-1" + "abc"[i % 3]}},
            "spec": {"unschedulable": False, "taints": []},
            "status": {"conditions": [{"type": "Ready", "status": "True"}]}}


def _timed(fn: Any, repeat: int) -> float:
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - start) * 1000)
    return statistics.median(samples)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--nodes", type=int, default=10_000)
    parser.add_argument("--limit", type=int, default=10)
    parser.add_argument("--repeat", type=int, default=21)
    args = parser.parse_args()

    from kubevigil.kube.cache import Cache, key_of
    from kubevigil.roles.nurse.peers import Peers

    pods = [_pod(i) for i in range(args.nodes)]
    nodes = {n["metadata"]["name"]: n for n in (_node(i) for i in range(args.nodes))}
    prepared = [Neighbour(p["metadata"]["name"], p["status"]["podIP"], "", p["spec"]["nodeName"]) for p in pods]
    own = pods[0]["spec"]["nodeName"]

    ring = _timed(lambda: nearest_clockwise(own, prepared[1:], args.limit), args.repeat)
    zoned = _timed(lambda: zone_aware(own, "eu-west-1a", prepared[1:], args.limit), args.repeat)

    def cache(objects: list[dict[str, Any]]) -> Cache:
        """The informer's own cache type, filled without an API server."""
        filled = Cache()
        filled.replace_all({key_of(obj): obj for obj in objects})
        return filled

    peers = Peers.__new__(Peers)
    peers.section = type("S", (), {"allow_unschedulable": False})()  # type: ignore[assignment]
    peers.pod = type("P", (), {"name": "nurse-00000", "node_name": own})()  # type: ignore[assignment]
    peers.pods = type("I", (), {"cache": cache(pods)})()  # type: ignore[assignment]
    peers.nodes = type("I", (), {"cache": cache(list(nodes.values()))})()  # type: ignore[assignment]
    peers._hashes = {}

    def full() -> None:
        peers._candidates = None
        assert len(nearest_clockwise(own, peers.candidates(), args.limit)) == args.limit

    candidates = _timed(full, max(3, args.repeat // 4))
    print(f"ring: choose {args.limit} of {args.nodes} nodes: {ring:.2f} ms (zone-aware {zoned:.2f} ms)")
    print(f"candidates: filter {args.nodes} pods x nodes from the caches, then the ring: {candidates:.2f} ms")


if __name__ == "__main__":
    main()
