"""The Grafana dashboards of deploy/monitoring: current with their generator, and every query answered by a real
Prometheus scraping `kubevigil demo` (which also evaluates the PrometheusRule's alerts without an error)."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest

from tests.conditions import wait_for
from tests.demo_process import start_demo
from tests.loopback import http_get
from tests.monitoring.rules import MONITORING, alerts, dashboard_queries, generator, metric_names, rule_spec
from tests.prometheus_server import PROMETHEUS, prometheus

# A row's title names the role whose metrics it shows: "(any)" rows need no particular role.
_ROW_ROLE = re.compile(r"\((\w+)\)$")


def test_dashboards_are_current_with_their_generator() -> None:
    for name, text in generator().render().items():
        current = (MONITORING / "grafana" / name).read_text()
        assert current == text, f"deploy/monitoring/grafana/{name} is stale: run scripts/grafana_dashboards.py"


def test_every_panel_belongs_to_a_row_that_names_its_role() -> None:
    for board, row, expr in dashboard_queries():
        assert _ROW_ROLE.search(row), f"{board}: {expr} is not under a row titled '… (role)'"


def needs_neighbours(expr: str) -> bool:
    """Queries about paths between nurses, or about failed checks only: the demo has them when its nurses check
    each other (one of their nodes is unreachable)."""
    return "path_" in expr or ("kubenurse_errors_total" in expr and " or " not in expr)


@pytest.mark.skipif(PROMETHEUS is None, reason="prometheus missing: scripts/test installs Debian's prometheus")
@pytest.mark.timeout(420)
def test_every_query_answers_on_the_demo(tmp_path: Path) -> None:
    out = tmp_path / "demo-out"
    demo, banner = start_demo(out, 400, cwd=tmp_path, stderr=subprocess.DEVNULL)
    try:
        base = re.search(r"metrics:\s+(http://(127\.0\.0\.1:\d+))/metrics", banner)
        assert base, banner
        roles = set(re.search(r"roles:\s+(.*)", banner).group(1).split(", "))  # type: ignore[union-attr]
        with prometheus(tmp_path, base.group(2), rules=rule_spec()) as prom:
            neighbours = "nurse" in roles and bool(_neighbourhood(base.group(1)))
            wanted = [(board, row, expr) for board, row, expr in dashboard_queries()
                      if _ROW_ROLE.search(row).group(1) in roles | {"any"}  # type: ignore[union-attr]
                      and (neighbours or not needs_neighbours(expr))]
            assert len(wanted) >= 25, wanted
            for _, _, expr in dashboard_queries():
                prom.query(expr)  # every query is valid PromQL, those without data on the demo too
            silent: list[str] = []

            def answered() -> bool:
                silent[:] = [f"{board} / {row}: {expr}" for board, row, expr in wanted if not prom.query(expr)]
                return not silent

            try:
                wait_for(answered, timeout=300, interval=2)
            except AssertionError:
                raise AssertionError("panel queries without data on the demo:\n" + "\n".join(silent)) from None

            names = set(prom.api("label/__name__/values"))
            for alert in alerts():
                used = metric_names(alert["expr"])
                if alert["alert"] == "KubenursePathErrors" and not neighbours:
                    used.discard("kubenurse_errors_total")  # the demo's nurse fails no check without neighbours
                assert used <= names, f"{alert['alert']}: {used - names} is not on the demo's /metrics"
            groups = prom.api("rules")["groups"]
            evaluated = [r for g in groups for r in g["rules"]]
            assert len(evaluated) == len(alerts())
            assert all(r["health"] == "ok" for r in evaluated), [(r["name"], r.get("lastError")) for r in evaluated]
    finally:
        demo.terminate()
        demo.wait(timeout=60)


def _neighbourhood(base: str) -> list[object]:
    """The demo nurse's neighbours (kubenurse's /alive), once its first round is done."""
    alive = wait_for(lambda: json.loads(http_get(f"{base}/alive")[1]), timeout=60)
    return list(alive.get("last_check_result", {}).get("neighbourhood") or [])  # type: ignore[union-attr]
