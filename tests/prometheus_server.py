"""A real Prometheus (Debian's) on loopback, scraping kubevigil and evaluating the rules of deploy/monitoring."""

from __future__ import annotations

import json
import shutil
import subprocess
import urllib.parse
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import yaml

from tests.conditions import wait_for
from tests.loopback import free_port, http_get

PROMETHEUS = shutil.which("prometheus")
PROMTOOL = shutil.which("promtool")


class Prometheus:
    def __init__(self, base: str) -> None:
        self.base = base

    def api(self, path: str, **params: str) -> Any:
        status, body = http_get(f"{self.base}/api/v1/{path}?{urllib.parse.urlencode(params)}")
        assert status == 200, body[:500]
        return json.loads(body)["data"]

    def query(self, expr: str) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = self.api("query", query=expr)["result"]
        return result


@contextmanager
def prometheus(tmp_path: Path, target: str, rules: dict[str, Any] | None = None) -> Iterator[Prometheus]:
    """Prometheus scraping `target` (host:port) every second, with kubevigil's labels kept (honor_labels, as
    docs/monitoring.md asks), evaluating `rules` (a rule file's content) every second."""
    assert PROMETHEUS, "prometheus missing: scripts/test installs Debian's prometheus"
    config: dict[str, Any] = {
        "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
        "scrape_configs": [{"job_name": "kubevigil", "honor_labels": True,
                            "static_configs": [{"targets": [target]}]}],
    }
    if rules is not None:
        (tmp_path / "rules.yaml").write_text(yaml.safe_dump(rules))
        config["rule_files"] = [str(tmp_path / "rules.yaml")]
    (tmp_path / "prometheus.yml").write_text(yaml.safe_dump(config))
    port = free_port()
    log = open(tmp_path / "prometheus.log", "wb")  # noqa: SIM115 - closed with the process
    proc = subprocess.Popen(
        [PROMETHEUS, f"--config.file={tmp_path / 'prometheus.yml'}", f"--storage.tsdb.path={tmp_path / 'tsdb'}",
         f"--web.listen-address=127.0.0.1:{port}"], stdout=subprocess.DEVNULL, stderr=log)
    try:
        server = Prometheus(f"http://127.0.0.1:{port}")
        wait_for(lambda: http_get(f"{server.base}/-/ready")[0] == 200, timeout=60, interval=0.5)
        yield server
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        log.close()
