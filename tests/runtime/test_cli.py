"""The command line as a user meets it: help, check-config on real files, schema, errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.anchors import ANCHORS

COMMANDS = [[], ["run"], ["demo"], ["check-config"], ["rbac"], ["schema"], ["version"], ["sim"], ["sim", "serve"],
            ["status"], ["status", "create-alarm"], ["checks"], ["checks", "crd"], ["dashboards"],
            ["dashboards", "cloudwatch"]]


def kubevigil(*args: str, env: dict[str, str] | None = None, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "kubevigil.cli", *args], capture_output=True, text=True, timeout=60,
                          env={**os.environ, **(env or {})}, cwd=cwd)


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: " ".join(c) or "kubevigil")
def test_help_is_short_and_accurate(command: list[str]) -> None:
    result = kubevigil(*command, "--help")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("usage: kubevigil")
    assert len(result.stdout.splitlines()) <= 30


def test_version() -> None:
    from kubevigil import __version__

    assert kubevigil("version").stdout.strip() == f"kubevigil {__version__}"


def test_schema_is_json_schema() -> None:
    schema = json.loads(kubevigil("schema").stdout)
    assert schema["$schema"].startswith("https://json-schema.org/") and "sinks" in schema["properties"]


@pytest.mark.parametrize("anchor,fmt", [
    ("kubestatus2cloudwatch/config-example.yaml", "kubestatus2cloudwatch"),
    ("kubestatus2cloudwatch/config-minimal.yaml", "kubestatus2cloudwatch"),
    ("kubernetes-event-exporter/config.example.yaml", "event-exporter"),
    ("kubernetes-event-exporter/config.yaml", "event-exporter"),
])
def test_check_config_accepts_the_replaced_tools_files(anchor: str, fmt: str) -> None:
    result = kubevigil("check-config", str(ANCHORS / anchor), env={"ELASTIC_API_KEY": "secret-key-value"})
    assert result.returncode == 0, result.stderr
    assert f"({fmt}) is valid" in result.stderr
    native = yaml.safe_load(result.stdout)
    assert native["sinks"]
    assert "secret-key-value" not in result.stdout + result.stderr


def test_ks2cw_config_is_found_through_its_own_variable(tmp_path: Path) -> None:
    path = tmp_path / "ks2cw.yaml"
    path.write_text("metric: {namespace: NS, name: Up}\ntargets: [{kind: Deployment, namespace: a, name: b, mode: AllOfThem}]\n")
    result = kubevigil("check-config", env={"KS2CW_CONFIG_PATH": str(path)}, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert str(path) in result.stderr


def test_bad_config_lists_every_problem_and_exits_1(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("clustr: {name: x}\nserver: {listen: nope}\nsinks:\n  out: {stdot: {}}\n")
    result = kubevigil("check-config", str(path))
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert any("bad.yaml:1" in line and "did you mean 'cluster'" in line for line in lines), lines
    assert any("bad.yaml:2" in line and "server.listen" in line for line in lines), lines
    assert any("bad.yaml:4" in line and "stdot" in line for line in lines), lines


def test_run_fails_in_one_line_when_the_cluster_is_unreachable(tmp_path: Path) -> None:
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(yaml.safe_dump({
        "apiVersion": "v1", "kind": "Config", "current-context": "gone",
        "clusters": [{"name": "gone", "cluster": {"server": "https://127.0.0.1:9"}}],
        "users": [{"name": "u", "user": {"token": "t"}}],
        "contexts": [{"name": "gone", "context": {"cluster": "gone", "user": "u"}}],
    }))
    config = tmp_path / "config.yaml"
    config.write_text(yaml.safe_dump({
        "cluster": {"name": "c", "kubeconfig": str(kubeconfig)}, "server": {"listen": "127.0.0.1:0"},
        "state_dir": str(tmp_path / "state"), "sinks": {"out": {"stdout": {}}},
        "leader_election": {"enabled": False},
        "events": {"route": {"routes": [{"match": [{"receiver": "out"}]}]}},
    }))
    result = kubevigil("run", "--config", str(config))
    assert result.returncode == 1
    error = [line for line in result.stderr.splitlines() if line.startswith("kubevigil: cannot reach the cluster")]
    assert len(error) == 1 and "gone" in error[0] and "127.0.0.1:9" in error[0], result.stderr


def test_run_refuses_a_role_the_file_does_not_configure(tmp_path: Path) -> None:
    config = tmp_path / "config.yaml"
    config.write_text(yaml.safe_dump({"sinks": {"out": {"stdout": {}}}, "state_dir": str(tmp_path)}))
    result = kubevigil("run", "--config", str(config), "--role", "status")
    assert result.returncode == 1 and "--role status: not configured" in result.stderr


def test_rbac_prints_list_watch_on_exactly_the_configured_kinds(tmp_path: Path) -> None:
    """Moved from `kubevigil status rbac`: a status-only config (status runs on every replica: no Lease)."""
    result = kubevigil("rbac", "--config", str(ANCHORS / "kubestatus2cloudwatch/config-example.yaml"))
    assert result.returncode == 0, result.stderr
    (role,) = yaml.safe_load_all(result.stdout)
    assert role["kind"] == "ClusterRole"
    assert role["rules"] == [{"apiGroups": ["apps"], "resources": ["statefulsets"], "verbs": ["list", "watch"]}]


def test_status_create_alarm_dry_run(tmp_path: Path) -> None:
    result = kubevigil("status", "create-alarm", "--dry-run", "--periods", "5", "--action", "arn:aws:sns:eu-west-1:1:t",
                       "--config", str(ANCHORS / "kubestatus2cloudwatch/config-example.yaml"))
    assert result.returncode == 0, result.stderr
    alarm = json.loads(result.stdout)
    assert alarm["Namespace"] == "MyNamespace" and alarm["MetricName"] == "MyMetric"
    assert alarm["EvaluationPeriods"] == 5 and alarm["TreatMissingData"] == "breaching"
    assert alarm["AlarmActions"] == ["arn:aws:sns:eu-west-1:1:t"]
