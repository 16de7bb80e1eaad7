"""The PrometheusRule: valid for the real promtool, every alert fires in a unit test from synthetic series of its
fault and stays quiet on healthy ones, and docs/monitoring.md explains each."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.monitoring.rules import ROOT, alerts, rule_spec
from tests.prometheus_server import PROMTOOL

needs_promtool = pytest.mark.skipif(PROMTOOL is None, reason="promtool missing: scripts/test installs prometheus")
UNIT_TESTS = Path(__file__).with_name("rules_test.yaml")


def promtool(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    assert PROMTOOL
    return subprocess.run([PROMTOOL, *args], capture_output=True, text=True, timeout=60, cwd=cwd)


@needs_promtool
def test_promtool_checks_the_rules(tmp_path: Path) -> None:
    (tmp_path / "rules.yaml").write_text(yaml.safe_dump(rule_spec()))
    checked = promtool("check", "rules", "rules.yaml", cwd=tmp_path)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert f"SUCCESS: {len(alerts())} rules found" in checked.stdout


@needs_promtool
def test_every_alert_fires_on_its_fault_and_not_on_healthy_series(tmp_path: Path) -> None:
    (tmp_path / "rules.yaml").write_text(yaml.safe_dump(rule_spec()))
    shutil.copy(UNIT_TESTS, tmp_path / UNIT_TESTS.name)
    tested = promtool("test", "rules", UNIT_TESTS.name, cwd=tmp_path)
    assert tested.returncode == 0, tested.stdout + tested.stderr


def test_unit_tests_cover_every_alert_both_ways() -> None:
    cases = [case for test in yaml.safe_load(UNIT_TESTS.read_text())["tests"] for case in test["alert_rule_test"]]
    for alert in alerts():
        name = alert["alert"]
        assert any(c["alertname"] == name and c["exp_alerts"] for c in cases), f"{name} never fires in a unit test"
        assert any(c["alertname"] == name and not c["exp_alerts"] for c in cases), f"{name} is never tested quiet"


def test_every_alert_is_documented() -> None:
    doc = (ROOT / "docs" / "monitoring.md").read_text()
    for alert in alerts():
        assert f"`{alert['alert']}`" in doc, f"docs/monitoring.md does not explain {alert['alert']}"
        assert alert["labels"]["severity"] in {"critical", "warning"}
        assert {"summary", "description"} <= set(alert["annotations"])
