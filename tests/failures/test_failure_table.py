"""Every network sink against the one failure table of docs/delivery.md ("Failures"): a local server answers each
status class (or stalls, or is not there), the real sink and its client library send one item, and the outcome
delivery sees is the table's: retried, retried as an access error (long backoff, /readyz), or dead-lettered."""

from __future__ import annotations

import asyncio
import json
import socket
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from aiohttp import web
from prometheus_client import CollectorRegistry

from kubevigil.core.signals import Metric, Record
from kubevigil.sinks.registry import SINKS
from kubevigil.sinks.sink import AccessError, PermanentError, RetryableError, Sink, SinkContext
from tests.loopback import serving

# The table: what each answer means for the items of the request.
TABLE: dict[int | str, str] = {
    400: "dead-letter", 401: "access", 403: "access", 404: "access", 408: "retry", 413: "dead-letter",
    422: "dead-letter", 429: "retry", 500: "retry", 502: "retry", 503: "retry",
    "timeout": "retry", "refused": "retry",
}
TIMEOUT = 0.5  # the sinks' request timeout here; the server stalls for longer


class Answering:
    """Answers every request with `status` and an error body each client can parse; `stall` never answers in time."""

    def __init__(self) -> None:
        self.status = 200
        self.stall = False
        self.url = ""

    async def handle(self, request: web.Request) -> web.Response:
        data = await request.read()
        if self.stall:
            await asyncio.sleep(TIMEOUT * 6)
        if data.startswith(b"Action="):  # AWS's query protocol (SNS) answers errors in XML
            xml = ("<ErrorResponse><Error><Type>Sender</Type><Code>Injected</Code><Message>injected</Message>"
                   "</Error><RequestId>fake</RequestId></ErrorResponse>")
            return web.Response(status=self.status, body=xml, content_type="text/xml")
        headers = {"X-Elastic-Product": "Elasticsearch", "x-amzn-RequestId": "fake",
                   "Content-Type": "application/json"}
        if request.headers.get("X-Amz-Target") or "amz" in request.headers.get("Authorization", "").lower():
            headers["Content-Type"] = "application/x-amz-json-1.1"
            headers["x-amzn-query-error"] = "Injected;Sender"
        body = {"__type": "Injected", "message": "injected", "error": {"type": "injected", "reason": "injected"},
                "status": self.status, "ok": False}
        return web.Response(status=self.status, body=json.dumps(body), headers=headers)


@pytest_asyncio.fixture
async def server() -> AsyncIterator[Answering]:
    answering = Answering()
    async with serving(answering.handle) as url:
        answering.url = url
        yield answering


def closed_port_url() -> str:
    """An address where nothing listens: the connection is refused."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{s.getsockname()[1]}"


AWS = {"region": "eu-west-1", "connect_timeout": TIMEOUT, "read_timeout": TIMEOUT}
# sink -> its params for a server at `url`
PARAMS: dict[str, Callable[[str], dict[str, Any]]] = {
    "webhook": lambda url: {"endpoint": f"{url}/hook", "timeout": TIMEOUT},
    "slack": lambda url: {"token": "xoxb-1", "channel": "#ops", "api_url": url, "timeout": TIMEOUT},
    "teams": lambda url: {"endpoint": f"{url}/teams", "timeout": TIMEOUT},
    "opsgenie": lambda url: {"api_key": "k", "api_url": url, "timeout": TIMEOUT},
    "loki": lambda url: {"url": url, "timeout": TIMEOUT},
    "opensearch": lambda url: {"hosts": [url], "timeout": TIMEOUT},
    "elasticsearch": lambda url: {"hosts": [url], "timeout": TIMEOUT},
    "sns": lambda url: {"topic_arn": "arn:aws:sns:eu-west-1:123456789012:t", "endpoint_url": url, **AWS},
    "sqs": lambda url: {"queue_url": f"{url}/123456789012/q", "endpoint_url": url, **AWS},
    "kinesis": lambda url: {"stream_name": "s", "endpoint_url": url, **AWS},
    "firehose": lambda url: {"delivery_stream_name": "d", "endpoint_url": url, **AWS},
    "eventbridge": lambda url: {"source": "kubevigil", "detail_type": "Event", "endpoint_url": url, **AWS},
    "cloudwatch_logs": lambda url: {"log_group_name": "g", "log_stream_name": "s", "endpoint_url": url, **AWS},
    "cloudwatch": lambda url: {"namespace": "N", "endpoint_url": url, **AWS},
}


def test_every_network_sink_is_in_the_table() -> None:
    local = {"stdout", "file", "emf", "prometheus", "syslog"}  # no status classes: see test_syslog_* below
    assert set(SINKS) - local == set(PARAMS)


def outcome_of(result: list[Any] | BaseException) -> str:
    if isinstance(result, AccessError):
        return "access"
    if isinstance(result, RetryableError):
        return "retry"
    if isinstance(result, PermanentError):
        return "dead-letter"
    if isinstance(result, BaseException):
        return f"unexpected {type(result).__name__}: {result}"
    if not result:
        return "delivered"
    (failure,) = result
    return "retry" if failure.retryable else "dead-letter"


async def send_one(kind: str, url: str, tmp_path: Path) -> str:
    spec = SINKS[kind]
    ctx = SinkContext(name="out", cluster_name="c", state_dir=tmp_path, registry=CollectorRegistry())
    sink: Sink[Any] = spec.build(spec.params(**PARAMS[kind](url)), ctx)
    item: Metric | Record
    if "metric" in spec.kinds:
        item = Metric(name="Up", value=1.0, timestamp=time.time())
    else:
        item = Record(id="r1", timestamp=1_700_000_000.0, body={"message": "m", "type": "Warning"})
    await sink.start()
    try:
        result: list[Any] | BaseException = await asyncio.wait_for(sink.send([item]), TIMEOUT * 20)
    except Exception as exc:
        result = exc
    finally:
        await sink.close()
    return outcome_of(result)


@pytest.fixture(autouse=True)
def aws_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")


@pytest.mark.parametrize("kind", sorted(PARAMS))
async def test_sink_follows_the_failure_table(kind: str, server: Answering, tmp_path: Path) -> None:
    seen: dict[int | str, str] = {}
    for answer in TABLE:
        if answer == "refused":
            seen[answer] = await send_one(kind, closed_port_url(), tmp_path)
            continue
        server.stall = answer == "timeout"
        server.status = 200 if answer == "timeout" else int(answer)
        seen[answer] = await send_one(kind, server.url, tmp_path)
    assert seen == TABLE


@pytest.mark.parametrize("network", ["tcp", "udp"])
async def test_syslog_retries_when_the_server_is_not_there(network: str, tmp_path: Path) -> None:
    port = closed_port_url().rsplit(":", 1)[1]
    spec = SINKS["syslog"]
    ctx = SinkContext(name="out", cluster_name="c", state_dir=tmp_path, registry=CollectorRegistry())
    sink: Sink[Any] = spec.build(spec.params(address=f"127.0.0.1:{port}", network=network, timeout=TIMEOUT), ctx)
    record = Record(id="r1", timestamp=1_700_000_000.0, body={"message": "m"})
    outcomes = set()
    for _ in range(3):  # UDP learns of the refusal from the ICMP answer to an earlier datagram
        try:
            outcomes.add(outcome_of(await sink.send([record])))
        except Exception as exc:
            outcomes.add(outcome_of(exc))
    await sink.close()
    assert outcomes <= {"retry", "delivered"} and ("retry" in outcomes or network == "udp")
