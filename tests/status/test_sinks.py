"""The cloudwatch sink against moto's server and a scripted error server; the emf sink's JSON lines."""

from __future__ import annotations

import io
import json
import math
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from aiohttp import web
from prometheus_client import CollectorRegistry
from pydantic import ValidationError

from kubevigil.core.signals import Metric
from kubevigil.sinks.aws import make_client
from kubevigil.sinks.cloudwatch.params import Params
from kubevigil.sinks.cloudwatch.sink import CloudWatchSink
from kubevigil.sinks.emf.params import Params as EmfParams
from kubevigil.sinks.emf.sink import EmfSink
from kubevigil.sinks.sink import PermanentError, RetryableError, SinkContext


def ctx(tmp_path: Path) -> SinkContext:
    return SinkContext(name="cw", cluster_name="test", state_dir=tmp_path, registry=CollectorRegistry())


def sink(endpoint: str, tmp_path: Path, **kw: Any) -> CloudWatchSink:
    return CloudWatchSink(Params(namespace="Test/Status", endpoint_url=endpoint, **kw), ctx(tmp_path))


def record_requests(s: CloudWatchSink) -> list[dict[str, Any]]:
    seen: list[dict[str, Any]] = []

    def hook(request: Any, **_: Any) -> None:
        encoding = request.headers.get("Content-Encoding") or b""
        seen.append({"encoding": encoding.decode() if isinstance(encoding, bytes) else encoding})

    s.client.meta.events.register("before-send.cloudwatch.PutMetricData", hook)
    return seen


def stats(endpoint: str, name: str, dims: dict[str, str]) -> list[dict[str, Any]]:
    from kubevigil.sinks.aws import AwsParams

    cw = make_client("cloudwatch", AwsParams(endpoint_url=endpoint))
    now = datetime.now(UTC)
    out = cw.get_metric_statistics(
        Namespace="Test/Status", MetricName=name, Dimensions=[{"Name": k, "Value": v} for k, v in dims.items()],
        StartTime=now - timedelta(minutes=10), EndTime=now + timedelta(minutes=10), Period=60,
        Statistics=["Maximum", "SampleCount"],
    )
    return list(out["Datapoints"])


async def test_put_and_read_back_with_units_and_dimensions(aws_env: str, tmp_path: Path) -> None:
    s = sink(aws_env, tmp_path, storage_resolution=1)
    ts = datetime.now(UTC).timestamp() - 30
    await s.send([Metric("Heartbeat", 1.0, ts, "Count", dimensions=(("Cluster", "c1"),))])
    points = stats(aws_env, "Heartbeat", {"Cluster": "c1"})
    assert [(p["Maximum"], p["Unit"]) for p in points] == [(1.0, "Count")]
    await s.close()


async def test_batches_of_at_most_1000_gzipped(aws_env: str, tmp_path: Path) -> None:
    s = sink(aws_env, tmp_path)
    seen = record_requests(s)
    now = datetime.now(UTC).timestamp()
    batch = [Metric("Many", float(i), now, dimensions=(("target", f"t{i}"),)) for i in range(2500)]
    assert await s.send(batch) == []
    assert len(seen) == 3
    assert all(r["encoding"] == "gzip" for r in seen)  # botocore compresses bodies over 10 KiB
    assert stats(aws_env, "Many", {"target": "t2499"})[0]["Maximum"] == 2499.0


async def test_bad_datum_fails_alone(aws_env: str, tmp_path: Path) -> None:
    s = sink(aws_env, tmp_path)
    now = datetime.now(UTC).timestamp()
    failures = await s.send([
        Metric("Alone", 1.0, now, dimensions=(("k", "ok"),)),
        Metric("Alone", math.nan, now),
        Metric("Alone", 1.0, now - 20 * 86400),
    ])
    assert [(f.index, f.retryable) for f in failures] == [(1, False), (2, False)]
    assert "older than 14 days" in failures[1].reason
    assert stats(aws_env, "Alone", {"k": "ok"})[0]["SampleCount"] == 1.0


def test_params_reject_reserved_namespace() -> None:
    with pytest.raises(ValidationError, match="AWS/ prefix is reserved"):
        Params(namespace="AWS/EC2")


@pytest_asyncio.fixture
async def error_server() -> AsyncIterator[tuple[str, list[tuple[int, str]]]]:
    """A CloudWatch look-alike on 127.0.0.1 answering each call with the next scripted (status, error code)."""
    script: list[tuple[int, str]] = []  # every call gets script[0]

    async def handle(_: web.Request) -> web.Response:
        status, code = script[0]
        body = {"__type": code, "message": f"scripted {code}"}
        return web.json_response(body, status=status, headers={"x-amzn-query-error": f"{code};Sender"})

    app = web.Application()
    app.router.add_post("/", handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    yield f"http://127.0.0.1:{port}", script
    await runner.cleanup()


@pytest.mark.parametrize(("status", "code", "error"), [
    (400, "Throttling", RetryableError),
    (503, "ServiceUnavailable", RetryableError),
    (400, "InvalidParameterValue", PermanentError),
])
async def test_errors_are_classified(error_server: tuple[str, list[tuple[int, str]]], tmp_path: Path,
                                     monkeypatch: pytest.MonkeyPatch, status: int, code: str, error: type) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    url, script = error_server
    script.append((status, code))
    with pytest.raises(error, match=code):
        await sink(url, tmp_path).send([Metric("X", 1.0, datetime.now(UTC).timestamp())])


async def test_connection_refused_is_retryable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import socket

    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(RetryableError):
        await sink(f"http://127.0.0.1:{port}", tmp_path, connect_timeout=1).send(
            [Metric("X", 1.0, datetime.now(UTC).timestamp())])


async def test_emf_lines(tmp_path: Path) -> None:
    out = io.StringIO()
    s = EmfSink(EmfParams(namespace="EKS/Health", storage_resolution=1), ctx(tmp_path), out=out)
    dims = (("Cluster", "c1"),)
    failures = await s.send([
        Metric("Healthy", 1.0, 1_700_000_000.5, "None", dimensions=dims),
        Metric("Targets", 3.0, 1_700_000_000.5, "Count", dimensions=dims),
        Metric("Healthy", 0.0, 1_700_000_000.5, "None", dimensions=(*dims, ("target", "Deployment/shop/web"))),
        Metric("Bad", math.inf, 1_700_000_000.5),
    ])
    assert [f.index for f in failures] == [3]
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    assert lines[0] == {
        "_aws": {"Timestamp": 1_700_000_000_500, "CloudWatchMetrics": [{
            "Namespace": "EKS/Health", "Dimensions": [["Cluster"]],
            "Metrics": [{"Name": "Healthy", "Unit": "None", "StorageResolution": 1},
                        {"Name": "Targets", "Unit": "Count", "StorageResolution": 1}]}]},
        "Cluster": "c1", "Healthy": 1.0, "Targets": 3.0,
    }
    assert lines[1]["target"] == "Deployment/shop/web" and lines[1]["_aws"]["CloudWatchMetrics"][0]["Dimensions"] == \
        [["Cluster", "target"]]
