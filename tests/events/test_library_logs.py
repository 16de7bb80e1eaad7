"""An unreachable OpenSearch under `kubevigil run`: the search client's own warnings arrive as JSON lines, each
traceback inside its line, and a retry loop's identical warnings are rate-limited."""

from __future__ import annotations

import json
import signal
from pathlib import Path

import yaml

from kubevigil.sim.cluster import Cluster
from kubevigil.sim.eventrecorder import EventRecorder, kubelet
from tests.conditions import eventually
from tests.events.endpoints import FAST_DELIVERY, child
from tests.events.workload import shop_objects
from tests.loopback import free_port, http_get


def lines(log: Path) -> list[str]:
    return [line for line in log.read_text().splitlines() if line.strip()]


async def test_search_client_warnings_are_json_lines_and_rate_limited(cluster: Cluster, kubeconfig: Path,
                                                                     tmp_path: Path) -> None:
    nowhere = f"http://127.0.0.1:{free_port()}"  # nothing listens: every _bulk fails to connect
    (tmp_path / "config.yaml").write_text(yaml.safe_dump({
        "cluster": {"name": "logs", "kubeconfig": str(kubeconfig)},
        "server": {"listen": "127.0.0.1:0"},
        "logging": {"level": "info", "format": "json"},
        "state_dir": str(tmp_path / "state"),
        "sinks": {"search": {"opensearch": {"hosts": [nowhere]}, "delivery": FAST_DELIVERY.model_dump()}},
        "leader_election": {"enabled": False},
        "events": {"max_event_age_seconds": 0,
                   "route": {"routes": [{"match": [{"receiver": "search"}]}]}},
    }))
    recorder = EventRecorder(cluster.store, cluster.clock)
    pod = shop_objects(cluster)["pod"]
    for i in range(20):
        recorder.record(pod, kubelet("node-1"), "Warning", "BackOff", f"m{i}")
    log = tmp_path / "kubevigil.log"
    async with child(tmp_path / "config.yaml", log) as run:
        def library_lines() -> list[dict]:
            return [e for e in map(json.loads, lines(log)) if e.get("logger", "").startswith("opensearch")]

        await eventually(lambda: library_lines() or run.returncode is not None, timeout=60,
                    state=lambda: log.read_text()[-2000:])
        port = next(e["port"] for e in map(json.loads, lines(log)) if e.get("event") == "started")

        def retried() -> float:
            _, body = http_get(f"http://127.0.0.1:{port}/metrics")
            found = [line.split()[-1] for line in body.decode().splitlines()
                     if line.startswith('kubevigil_delivery_retried_total{sink="search"}')]
            return float(found[0]) if found else 0.0

        # The sink keeps retrying (every 0.2 s at most): let the loop repeat itself a good many times.
        await eventually(lambda: retried() >= 200 or run.returncode is not None, timeout=90,
                    state=lambda: log.read_text()[-2000:])
        assert run.returncode is None, log.read_text()[-3000:]
        run.send_signal(signal.SIGTERM)
        assert await run.wait() == 0
    entries = [json.loads(line) for line in lines(log)]  # every line on stderr is one JSON document
    library = [e for e in entries if e.get("logger", "").startswith("opensearch")]
    assert library and all(e["level"] in ("warning", "error") for e in library)
    assert any("exception" in e for e in library)  # the client's traceback, inside its line
    by_message: dict[str, int] = {}
    for e in library:
        by_message[e["event"].split(" [")[0]] = by_message.get(e["event"].split(" [")[0], 0) + 1
    assert max(by_message.values()) <= 2, by_message  # the first, and at most one "repeated" line per minute
    assert len(library) < 10
