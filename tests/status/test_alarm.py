"""`kubevigil status create-alarm`: the alarm's shape, printed with --dry-run, created in moto otherwise."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kubevigil.catalog import load
from kubevigil.cli import main
from kubevigil.roles.status.alarm import alarm_period, create_alarm
from kubevigil.sinks.aws import AwsParams, make_client

CONFIG = """\
cluster: {{name: prod}}
sinks:
  cw: {{cloudwatch: {{namespace: EKS/Health, endpoint_url: "{endpoint}"}}}}
status:
  seconds: 60
  metric: {{name: ClusterHealthy, dimensions: {{Team: core}}}}
  targets: [{{kind: Node}}]
  sinks: [cw]
"""


def test_period_holds_one_value() -> None:
    assert alarm_period(60, 60) == 60
    assert alarm_period(61, 60) == 120
    assert alarm_period(5, 1) == 10
    assert alarm_period(5, 60) == 60


def test_dry_run_prints_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "c.yaml"
    path.write_text(CONFIG.format(endpoint="http://127.0.0.1:9"))
    assert main(["status", "create-alarm", "--dry-run", "--config", str(path)]) == 0
    alarm = json.loads(capsys.readouterr().out)
    assert alarm["Namespace"] == "EKS/Health" and alarm["MetricName"] == "ClusterHealthy"
    assert alarm["Dimensions"] == [{"Name": "Cluster", "Value": "prod"}, {"Name": "Team", "Value": "core"}]
    assert (alarm["ComparisonOperator"], alarm["Threshold"], alarm["TreatMissingData"]) == \
        ("LessThanThreshold", 1.0, "breaching")
    assert (alarm["Period"], alarm["EvaluationPeriods"], alarm["Statistic"]) == (60, 3, "Minimum")


async def test_creates_alarm(aws_env: str, tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text(CONFIG.format(endpoint=aws_env))
    request = await create_alarm(load(path).settings, False, periods=2)
    cw = make_client("cloudwatch", AwsParams(endpoint_url=aws_env))
    found = cw.describe_alarms(AlarmNames=[request["AlarmName"]])["MetricAlarms"]
    assert found[0]["TreatMissingData"] == "breaching" and found[0]["EvaluationPeriods"] == 2


def test_needs_a_cloudwatch_sink(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "c.yaml"
    path.write_text(CONFIG.format(endpoint="x").replace('cloudwatch: {namespace: EKS/Health, endpoint_url: "x"}',
                                                        "emf: {namespace: EKS/Health}"))
    assert main(["status", "create-alarm", "--dry-run", "--config", str(path)]) == 1
    assert "names no `cloudwatch` sink" in capsys.readouterr().err
