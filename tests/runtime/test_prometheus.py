"""/metrics is valid Prometheus text, and Debian's real prometheus scrapes kubevigil and answers queries about it."""

from __future__ import annotations

import json
import shutil
import subprocess
import urllib.parse
from pathlib import Path

import pytest
import yaml

from tests.conditions import wait_for
from tests.loopback import free_port, http_get

PROMETHEUS = shutil.which("prometheus")
PROMTOOL = shutil.which("promtool")
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
    prom_port = free_port()
    (tmp_path / "prometheus.yml").write_text(yaml.safe_dump({
        "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
        "scrape_configs": [{"job_name": "kubevigil", "static_configs": [{"targets": [f"127.0.0.1:{proc.port}"]}]}],
    }))
    prom = subprocess.Popen(
        [PROMETHEUS, f"--config.file={tmp_path / 'prometheus.yml'}", f"--storage.tsdb.path={tmp_path / 'tsdb'}",
         f"--web.listen-address=127.0.0.1:{prom_port}"],
        stdout=subprocess.DEVNULL, stderr=open(tmp_path / "prometheus.log", "wb"),  # noqa: SIM115 - closed with the process
    )
    try:
        query = urllib.parse.urlencode({"query": 'kubevigil_delivery_queue_depth{sink="out"}'})

        def answered() -> list:
            status, body = http_get(f"http://127.0.0.1:{prom_port}/api/v1/query?{query}")
            return json.loads(body)["data"]["result"] if status == 200 else []

        (series,) = wait_for(answered, timeout=60, interval=0.5)
        assert series["metric"]["job"] == "kubevigil"
        assert float(series["value"][1]) == 0.0
    finally:
        prom.terminate()
        prom.wait(timeout=30)


def test_sigterm_stops_cleanly(kubevigil_process, emulator_kubeconfig: Path) -> None:
    proc = kubevigil_process(config(emulator_kubeconfig))
    wait_for(lambda: http_get(f"{proc.base}/readyz")[0] == 200)
    assert proc.stop() == 0
