"""Fixtures for the AWS record sinks: a sink context, boto3 clients on moto for setup and read-back, a scripted
fault endpoint, and event-like records."""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import boto3
import botocore.config
import pytest
from prometheus_client import CollectorRegistry

from kubevigil.core.signals import Record
from kubevigil.sinks.sink import SinkContext
from tests.sinks_aws.fake_aws import FakeAws, serve

CLUSTER = "prod-eks"


@pytest.fixture
def ctx(tmp_path: Path) -> SinkContext:
    return SinkContext(name="under-test", cluster_name=CLUSTER, state_dir=tmp_path, registry=CollectorRegistry())


@pytest.fixture
def aws(aws_env: str) -> Callable[[str], Any]:
    """A boto3 client on moto's server, for creating resources and reading back what a sink wrote."""
    config = botocore.config.Config(connect_timeout=5, read_timeout=10)
    return lambda service: boto3.client(service, endpoint_url=aws_env, region_name="eu-west-1", config=config)


@pytest.fixture
def name() -> str:
    """A resource name no other test uses: moto's server lives for the whole session."""
    return f"kv-{uuid.uuid4().hex[:12]}"


@pytest.fixture
async def fake_aws(aws_env: str) -> AsyncIterator[FakeAws]:
    async for fake in serve():
        yield fake


def event_record(n: int, *, t: float | None = None, **extra: Any) -> Record:
    """A record shaped like an exported Kubernetes Event."""
    body = {
        "metadata": {"name": f"web-{n}.17a", "namespace": "shop", "uid": f"uid-{n}"},
        "reason": "BackOff",
        "type": "Warning",
        "message": f"Back-off restarting failed container {n}",
        "count": n,
        "involvedObject": {"kind": "Pod", "name": f"web-{n}", "namespace": "shop", "labels": {"app": "web"}},
        **extra,
    }
    return Record(id=f"uid-{n}:1", timestamp=time.time() if t is None else t, body=body)


def calls_of(client: Any, operation: str) -> list[dict[str, Any]]:
    """Every request `client` makes for `operation` (a botocore event hook; the request still goes out)."""
    seen: list[dict[str, Any]] = []
    service = client.meta.service_model.service_id.hyphenize()
    client.meta.events.register(f"provide-client-params.{service}.{operation}", lambda params, **_: seen.append(params))
    return seen
