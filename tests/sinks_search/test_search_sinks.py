"""opensearch and elasticsearch sinks against the fake server, through the real client libraries."""

from __future__ import annotations

import base64
from typing import Any

import pytest

from kubevigil.core.signals import Record
from kubevigil.sinks.registry import SINKS
from kubevigil.sinks.sink import PermanentError, RetryableError, SinkContext
from tests.fakes.search_server import FakeSearchServer

EVENT_TIME = 1_763_800_000.0  # 2025-11-22 UTC


def records(n: int) -> list[Record]:
    return [
        Record(f"uid-{i}-1", EVENT_TIME + i, {
            "message": f"Back-off restarting failed container {i}", "count": i + 1, "type": "Warning",
            "involvedObject": {"kind": "Pod", "name": f"web-{i}", "labels": {"app.kubernetes.io/name": "web"}},
        })
        for i in range(n)
    ]


async def started(search: FakeSearchServer, ctx: SinkContext, **params: Any):
    spec = SINKS[search.flavor]
    sink = spec.build(spec.params(hosts=[search.url], **params), ctx)
    await sink.start()
    return sink


async def test_documents_land_with_record_id_in_the_event_time_index(search, sink_ctx) -> None:
    sink = await started(search, sink_ctx)
    try:
        assert await sink.send(records(3)) == []
        assert await sink.send(records(3)) == []  # a retry of the same records overwrites, never duplicates
    finally:
        await sink.close()
    assert set(search.state.docs) == {"kube-events-2025.11.22"}
    docs = search.state.docs["kube-events-2025.11.22"]
    assert sorted(docs) == ["uid-0-1", "uid-1-1", "uid-2-1"]
    assert docs["uid-1-1"]["count"] == 2


async def test_layout_keeps_types_and_de_dot_rewrites_keys(search, sink_ctx) -> None:
    layout = {"msg": "{{ message }}", "count": "{{ count }}", "labels": "{{ involvedObject.labels }}"}
    sink = await started(search, sink_ctx, layout=layout, de_dot=True, index="events-{{ type | lower }}")
    try:
        assert await sink.send(records(1)) == []
    finally:
        await sink.close()
    doc = search.state.docs["events-warning"]["uid-0-1"]
    assert doc == {"msg": "Back-off restarting failed container 0", "count": 1, "labels": {"app_kubernetes_io/name": "web"}}


async def test_per_item_errors_fail_only_those_items(search, sink_ctx) -> None:
    faults = {"uid-1-1": (400, "mapper_parsing_exception"), "uid-2-1": (429, "es_rejected_execution_exception")}
    search.state.item_fault = lambda _index, doc_id, _doc: faults.get(doc_id)
    sink = await started(search, sink_ctx)
    try:
        failures = await sink.send(records(4))
    finally:
        await sink.close()
    assert [(f.index, f.retryable) for f in failures] == [(1, False), (2, True)]
    assert "mapper_parsing_exception" in failures[0].reason
    assert sorted(search.state.all_ids()) == ["uid-0-1", "uid-3-1"]


async def test_a_bad_template_fails_one_item_and_the_rest_go_on(search, sink_ctx) -> None:
    sink = await started(search, sink_ctx, layout={"ratio": "{{ 1 / (count - 1) }}"})
    try:
        failures = await sink.send(records(3))
    finally:
        await sink.close()
    assert [(f.index, f.retryable) for f in failures] == [(0, False)]
    assert "ZeroDivisionError" in failures[0].reason
    assert sorted(search.state.all_ids()) == ["uid-1-1", "uid-2-1"]


async def test_outage_is_retryable(search, sink_ctx) -> None:
    sink = await started(search, sink_ctx)
    search.state.down = True
    try:
        with pytest.raises(RetryableError, match="503"):
            await sink.send(records(1))
    finally:
        await sink.close()


async def test_unreachable_host_is_retryable(sink_ctx) -> None:
    server = FakeSearchServer("opensearch").start()
    url = server.url
    server.stop()
    spec = SINKS["opensearch"]
    sink = spec.build(spec.params(hosts=[url], timeout=2), sink_ctx)
    await sink.start()
    try:
        with pytest.raises(RetryableError, match="unreachable"):
            await sink.send(records(1))
    finally:
        await sink.close()


async def test_basic_auth_and_api_key_headers(search, sink_ctx) -> None:
    for params, expected in (
        ({"basic_auth": {"username": "kv", "password": "s3cret"}}, "Basic " + base64.b64encode(b"kv:s3cret").decode()),
        ({"api_key": "a2V5"}, "ApiKey a2V5"),
    ):
        sink = await started(search, sink_ctx, **params)
        try:
            await sink.send(records(1))
        finally:
            await sink.close()
        assert search.state.auth_headers[-1] == expected


async def test_opensearch_signs_with_aws_sigv4(sink_ctx, monkeypatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "secret")
    with FakeSearchServer("opensearch") as search:
        sink = await started(search, sink_ctx, aws_sigv4={"region": "eu-west-1"})
        try:
            assert await sink.send(records(1)) == []
        finally:
            await sink.close()
        header = search.state.auth_headers[-1]
    assert header.startswith("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/")
    assert "/eu-west-1/es/aws4_request" in header


def test_secrets_are_masked_in_params() -> None:
    params = SINKS["opensearch"].params(hosts=["http://x"], basic_auth={"username": "u", "password": "pw"}, api_key="k")
    dumped = params.model_dump_json()
    assert "pw" not in dumped and '"k"' not in dumped


def test_bad_params_are_rejected() -> None:
    with pytest.raises(ValueError, match="hosts"):
        SINKS["opensearch"].params(hosts=[])
    with pytest.raises(ValueError, match="index"):
        SINKS["elasticsearch"].params(hosts=["http://x"], index="kube-{{ event_time | strftime(")
    with pytest.raises(ValueError, match="service"):
        SINKS["opensearch"].params(hosts=["http://x"], aws_sigv4={"service": "s3"})


def test_event_exporter_receiver_translates() -> None:
    from kubevigil.config.importers.event_exporter.search import elasticsearch as translate

    params, warnings = translate({"hosts": ["http://localhost:9200"], "indexFormat": "kube-events-{2006-01-02}",
                                  "apiKey": "abc", "useEventID": True, "deDot": True})
    assert params["index"] == 'kube-events-{{ event_time | strftime("%Y-%m-%d") }}'
    assert params["api_key"] == "abc" and params["de_dot"] is True
    assert "useEventID" in warnings[0]
    built = SINKS["elasticsearch"].params(**params)
    assert built.api_key is not None


async def test_permanent_whole_request_failure(sink_ctx) -> None:
    with FakeSearchServer("opensearch") as search:
        sink = await started(search, sink_ctx)
        original = sink._client.bulk

        async def reject(**_: Any) -> Any:
            from opensearchpy.exceptions import RequestError

            raise RequestError(400, "illegal_argument_exception", {})

        sink._client.bulk = reject
        try:
            with pytest.raises(PermanentError, match="400"):
                await sink.send(records(1))
        finally:
            sink._client.bulk = original
            await sink.close()
