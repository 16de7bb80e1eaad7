"""/metrics is valid Prometheus text, and Debian's real prometheus scrapes kubevigil and answers queries about it."""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.conditions import wait_for
from tests.demo_process import start_demo
from tests.loopback import http_get
from tests.prometheus_server import PROMETHEUS, PROMTOOL, prometheus

CONFIG = {"cluster": {"name": "scrape-test"}, "sinks": {"out": {"stdout": {}}, "prom": {"prometheus": {}}},
          # `run` refuses a config that enables no role (exit 2), so the events role runs against the emulator
          "leader_election": {"enabled": False},
          "events": {"route": {"routes": [{"match": [{"receiver": "out"}]}]}}}


def config(kubeconfig: Path) -> dict:
    return {**CONFIG, "cluster": {**CONFIG["cluster"], "kubeconfig": str(kubeconfig)}}


@pytest.mark.skipif(PROMTOOL is None, reason="promtool missing: scripts/test installs Debian's prometheus")
def test_metrics_pass_promtool_check(kubevigil_process, emulator_kubeconfig: Path) -> None:
    proc = kubevigil_process(config(emulator_kubeconfig))
    status, body = http_get(f"{proc.base}/metrics")
    assert status == 200
    assert b"kubevigil_delivery_queue_depth" in body
    check = subprocess.run([PROMTOOL, "check", "metrics"], input=body, capture_output=True, timeout=30)
    assert check.returncode == 0, check.stdout.decode() + check.stderr.decode()


@pytest.mark.skipif(PROMETHEUS is None, reason="prometheus missing: scripts/test installs Debian's prometheus")
def test_real_prometheus_scrapes_kubevigil(kubevigil_process, emulator_kubeconfig: Path, tmp_path: Path) -> None:
    proc = kubevigil_process(config(emulator_kubeconfig))
    with prometheus(tmp_path, f"127.0.0.1:{proc.port}") as server:
        (series,) = wait_for(lambda: server.query('kubevigil_delivery_queue_depth{sink="out"}'), timeout=60,
                             interval=0.5)
        assert series["metric"]["job"] == "kubevigil"
        assert float(series["value"][1]) == 0.0


@pytest.fixture
def demo(tmp_path: Path) -> Iterator[str]:
    """`kubevigil demo` on an ephemeral port; its base URL once the banner is out."""
    log = open(tmp_path / "demo.log", "wb")  # noqa: SIM115 - closed with the process
    proc, banner = start_demo(tmp_path / "demo-out", 600, cwd=tmp_path, stderr=log)
    try:
        match = re.search(r"metrics:\s+(http://127\.0\.0\.1:\d+)/metrics", banner)
        assert match, banner + (tmp_path / "demo.log").read_text()
        yield match.group(1)
    finally:
        proc.terminate()
        proc.wait(timeout=60)
        log.close()


def _series(body: bytes) -> list[tuple[str, tuple[tuple[str, str], ...]]]:
    return [(s.name, tuple(sorted(s.labels.items())))
            for family in text_string_to_metric_families(body.decode()) for s in family.samples]


def _prometheus_counter(port: int, name: str) -> float:
    """A counter of Prometheus's own /metrics (summed over its labels)."""
    status, body = http_get(f"http://127.0.0.1:{port}/metrics")
    assert status == 200
    return sum(s.value for family in text_string_to_metric_families(body.decode()) for s in family.samples
               if s.name == name)


@pytest.mark.skipif(PROMETHEUS is None, reason="prometheus missing: scripts/test installs Debian's prometheus")
def test_demo_metrics_are_ingested_whole_by_prometheus(demo: str, tmp_path: Path) -> None:
    """Every series of the demo (all roles, the prometheus sink with per_target) has its full label set: no
    duplicate series, promtool clean, and a real Prometheus scraping it every second drops no sample."""
    def published() -> bytes:
        body = http_get(f"{demo}/metrics")[1]
        # the per-target heartbeats and the scrape role's cluster values are where label sets used to collapse
        return body if b'kubevigil_cluster_healthy{Cluster="demo",target=' in body and b"awscni_" in body else b""

    body = wait_for(published, timeout=120, interval=0.5)
    series = _series(body)
    assert len(series) == len(set(series)), sorted({s for s in series if series.count(s) > 1})
    check = subprocess.run([PROMTOOL, "check", "metrics"], input=body, capture_output=True, timeout=30)
    assert check.returncode == 0, check.stdout.decode() + check.stderr.decode()

    with prometheus(tmp_path, demo.removeprefix("http://")) as server:
        prom_port = int(server.base.rsplit(":", 1)[1])
        # ten scrapes of the demo, each of them complete
        wait_for(lambda: server.query('count_over_time(up{job="kubevigil"}[1h]) >= 10'), timeout=120, interval=1)
        assert [float(r["value"][1]) for r in server.query('up{job="kubevigil"}')] == [1.0]
        for name in ("prometheus_target_scrapes_sample_duplicate_timestamp_total",
                     "prometheus_target_scrapes_sample_out_of_order_total",
                     "prometheus_target_scrapes_sample_out_of_bounds_total",
                     "prometheus_target_scrapes_exceeded_sample_limit_total"):
            assert _prometheus_counter(prom_port, name) == 0, name
        targets = server.query('kubevigil_cluster_healthy{job="kubevigil",target!=""}')
        assert len(targets) >= 2 and server.query('kubevigil_cluster_healthy{job="kubevigil",target=""}')


def test_sigterm_stops_cleanly(kubevigil_process, emulator_kubeconfig: Path) -> None:
    proc = kubevigil_process(config(emulator_kubeconfig))
    wait_for(lambda: http_get(f"{proc.base}/readyz")[0] == 200)
    assert proc.stop() == 0
