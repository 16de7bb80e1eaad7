"""Running the status role for real: emulator over HTTPS, delivery, the cloudwatch sink against moto."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from prometheus_client import CollectorRegistry

from kubevigil.core.clock import Clock, SystemClock
from kubevigil.delivery.delivery import Delivery
from kubevigil.delivery.settings import DeliveryParams
from kubevigil.kube.client import KubeApi, connect
from kubevigil.kube.resources import by_kind
from kubevigil.roles.role import PodIdentity, RoleContext
from kubevigil.roles.status.config import StatusSection
from kubevigil.roles.status.role import StatusRole
from kubevigil.sinks.aws import AwsParams, make_client
from kubevigil.sinks.cloudwatch.params import Params
from kubevigil.sinks.cloudwatch.sink import CloudWatchSink
from kubevigil.sinks.sink import SinkContext

NAMESPACE = "Test/Heartbeat"


def deployment(name: str, namespace: str, replicas: int = 1, annotations: dict[str, str] | None = None,
               labels: dict[str, str] | None = None) -> dict[str, Any]:
    labels = {"app": name, **(labels or {})}
    return {
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": name, "namespace": namespace, "labels": labels, "annotations": annotations or {}},
        "spec": {
            "replicas": replicas, "selector": {"matchLabels": {"app": name}},
            "template": {"metadata": {"labels": {"app": name}},
                         "spec": {"containers": [{"name": "app", "image": f"example/{name}:1"}]}},
        },
    }


def seed(store: Any, *objects: dict[str, Any]) -> None:
    for obj in objects:
        res = by_kind(obj["kind"], obj["apiVersion"])
        store.create(res, obj)


def namespace(name: str, labels: dict[str, str] | None = None) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name, "labels": labels or {}}}


def datapoints(endpoint: str, metric: str, dims: dict[str, str], minutes: int = 10) -> list[dict[str, Any]]:
    cw = make_client("cloudwatch", AwsParams(endpoint_url=endpoint))
    now = datetime.now(UTC)
    out = cw.get_metric_statistics(
        Namespace=NAMESPACE, MetricName=metric, Dimensions=[{"Name": k, "Value": v} for k, v in dims.items()],
        StartTime=now - timedelta(minutes=minutes), EndTime=now + timedelta(minutes=5), Period=1,
        Statistics=["Minimum", "Maximum", "SampleCount"],
    )
    return sorted(out["Datapoints"], key=lambda p: p["Timestamp"])


@dataclass
class Running:
    role: StatusRole
    api: KubeApi
    delivery: Delivery
    task: asyncio.Task[None]
    registry: CollectorRegistry


@contextlib.asynccontextmanager
async def heartbeat(kubeconfig: Path, section: dict[str, Any], endpoint: str, state_dir: Path,
                    role_clock: Clock | None = None) -> AsyncIterator[Running]:
    """The status role publishing through delivery to a cloudwatch sink named `cw` at `endpoint`."""
    registry = CollectorRegistry()
    clock = SystemClock()
    sink = CloudWatchSink(Params(namespace=NAMESPACE, endpoint_url=endpoint, storage_resolution=1, connect_timeout=1,
                                 read_timeout=2),
                          SinkContext("cw", "test", state_dir, registry))
    params = DeliveryParams(retry_base=0.1, retry_cap=0.5, batch_max_age=0.05, timeout=5)
    dlv = Delivery({"cw": (sink, params)}, state_dir=state_dir, clock=clock, registry=registry)
    await dlv.start()
    api = await connect(str(kubeconfig))
    ctx = RoleContext(cluster_name="test", api=api, outlets=dlv.outlets, clock=role_clock or clock, registry=registry,
                      state_dir=state_dir, pod=PodIdentity("test"))
    role = StatusRole(StatusSection.model_validate({"sinks": ["cw"], **section}), ctx)
    task = asyncio.create_task(role.run())
    try:
        yield Running(role, api, dlv, task, registry)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await dlv.shutdown(1.0)
        await api.aclose()
