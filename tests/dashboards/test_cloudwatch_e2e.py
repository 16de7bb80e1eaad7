"""`kubevigil dashboards cloudwatch` end to end: the demo's roles publish to moto's CloudWatch and Logs, then the
dashboard built from the same config names only metrics CloudWatch received, and --apply round-trips its body."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import boto3
import pytest
import pytest_asyncio
import yaml

from kubevigil.catalog import load
from kubevigil.dashboards.cloudwatch import dashboard
from kubevigil.runtime import Runtime
from tests.conditions import eventually
from tests.dashboards.published import list_metrics, named_metrics, unpublished

REGION = "eu-west-1"


@pytest_asyncio.fixture
async def demo_cluster(tmp_path: Path) -> AsyncIterator[Path]:
    """The demo's cluster with every role's demo setup (ipamd exporters, HealthChecks, nurses); yields its kubeconfig."""
    from kubevigil.demo import demo_world

    async with demo_world(tmp_path) as kubeconfig:
        yield kubeconfig


def cloudwatch_config(tmp_path: Path, kubeconfig: Path, endpoint: str, namespace: str, log_group: str) -> Path:
    """The demo's config with its metric file swapped for CloudWatch and its events also sent to CloudWatch Logs."""
    from kubevigil.demo import demo_config

    config: dict[str, Any] = demo_config(tmp_path, kubeconfig, 0)
    aws = {"endpoint_url": endpoint, "region": REGION}
    config["sinks"]["metrics-file"] = {"cloudwatch": {"namespace": namespace, **aws}}
    config["sinks"]["event-logs"] = {"cloudwatch_logs": {"log_group_name": log_group, **aws}}
    config["events"]["route"]["routes"].append({"match": [{"receiver": "event-logs"}]})
    config["nurse"]["metrics"] = {"sinks": ["metrics-file"], "seconds": 5}
    config["events"]["metrics"] = {"sinks": ["metrics-file"], "seconds": 5}
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "kubevigil.cli", *args], capture_output=True, text=True,
                          timeout=120, env={**os.environ, "AWS_DEFAULT_REGION": REGION})


@pytest.mark.timeout(480)
async def test_dashboard_names_only_what_the_roles_published(demo_cluster: Path, tmp_path: Path,
                                                             aws_env: str) -> None:
    namespace, log_group = f"kv-dash-{uuid.uuid4().hex[:8]}", f"/kubevigil/{uuid.uuid4().hex[:8]}"
    path = cloudwatch_config(tmp_path, demo_cluster, aws_env, namespace, log_group)
    settings = load(path).settings
    body = dashboard(settings, REGION)
    named = list(named_metrics(body))
    assert {n.name for n in named} >= {"ClusterHealthy", "totalIPAddresses", "scrapeTargetsScraped",
                                       "NurseCheckLatencyP99", "NurseCheckErrorRate", "HealthCheckSucceeded",
                                       "EventsWarnings", "EventsExported", "DeliveryOldestUnsentAge"}
    receivers = {dict(n.values).get("Receiver") for n in named if n.name == "DeliveryQueueDepth"}
    assert receivers == {"events-file", "stdout", "oncall-webhook", "event-logs"}
    aws: Any = boto3.client("cloudwatch", endpoint_url=aws_env, region_name=REGION)
    logs: Any = boto3.client("logs", endpoint_url=aws_env, region_name=REGION)

    runtime = Runtime(settings, settings.roles_enabled())
    await runtime.start()
    try:
        missing: list[Any] = []

        async def all_published() -> bool:
            missing[:] = unpublished(body, await asyncio.to_thread(list_metrics, aws, namespace))
            return not missing

        try:
            await eventually(all_published, timeout=240, interval=2)
        except AssertionError:
            raise AssertionError(f"the dashboard names metrics nothing published: {missing}") from None

        async def warnings_logged() -> bool:
            answer = await asyncio.to_thread(logs.filter_log_events, logGroupName=log_group)
            return any(json.loads(e["message"]).get("type") == "Warning" for e in answer["events"])

        await eventually(warnings_logged, timeout=120, interval=1)  # what the log widget's query reads
    finally:
        await runtime.stop()
    (log_widget,) = [w for w in body["widgets"] if w["type"] == "log"]
    assert f"SOURCE '{log_group}'" in log_widget["properties"]["query"]

    printed = await asyncio.to_thread(cli, "dashboards", "cloudwatch", "--config", str(path))
    assert printed.returncode == 0, printed.stderr
    assert json.loads(printed.stdout) == body
    name = f"kv-{uuid.uuid4().hex[:8]}"
    applied = await asyncio.to_thread(cli, "dashboards", "cloudwatch", "--config", str(path), "--apply",
                                      "--name", name)
    assert applied.returncode == 0, applied.stderr
    assert applied.stdout.strip() == f"dashboard {name}: {len(body['widgets'])} widgets"
    stored = await asyncio.to_thread(aws.get_dashboard, DashboardName=name)
    assert json.loads(stored["DashboardBody"]) == body
