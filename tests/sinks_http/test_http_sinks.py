"""webhook, slack, teams, opsgenie, loki: the request each documented API expects, and failure handling."""

from __future__ import annotations

import json

import pytest

from kubevigil.sinks.sink import AccessError, RetryableError
from tests.sinks_http.conftest import event


async def sent(sink, records):
    await sink.start()
    try:
        return await sink.send(records)
    finally:
        await sink.close()


async def test_webhook_posts_each_record_with_typed_layout_and_templated_headers(receiver, build) -> None:
    sink = build("webhook", endpoint=f"{receiver.url}/hook",
                 headers={"X-Reason": "{{ reason }}", "X-API-KEY": "k"},
                 layout={"count": "{{ count }}", "details": {"name": "{{ involvedObject.name }}"}, "kind": "kube-event"})
    assert await sent(sink, [event(0), event(1)]) == []
    assert [r.path for r in receiver.requests] == ["/hook", "/hook"]
    first = receiver.requests[0]
    assert first.method == "POST" and first.headers["X-Reason"] == "BackOff" and first.headers["X-API-KEY"] == "k"
    assert json.loads(first.body) == {"count": 1, "details": {"name": "web-0"}, "kind": "kube-event"}


async def test_webhook_rejection_fails_one_item_and_outage_hands_back_the_rest(receiver, build) -> None:
    receiver.answer = lambda n, _s: (400, "bad") if n == 1 else ((503, "down") if n == 3 else (200, {}))
    failures = await sent(build("webhook", endpoint=receiver.url), [event(i) for i in range(4)])
    assert [(f.index, f.retryable) for f in failures] == [(0, False), (2, True), (3, True)]
    assert "400" in failures[0].reason and "503" in failures[1].reason


async def test_webhook_first_request_down_retries_the_whole_batch(receiver, build) -> None:
    receiver.answer = lambda _n, _s: (502, "bad gateway")
    with pytest.raises(RetryableError, match="502"):
        await sent(build("webhook", endpoint=receiver.url), [event(0), event(1)])


async def test_webhook_unreachable_is_retryable(build) -> None:
    with pytest.raises(RetryableError, match="unreachable"):
        await sent(build("webhook", endpoint="http://127.0.0.1:9", timeout=2), [event(0)])


async def test_slack_chat_post_message_shape(receiver, build) -> None:
    sink = build("slack", token="xoxb-1", channel="#ops", api_url=receiver.url, message="Event {{ message }}",
                 color="danger", fields={"namespace": "{{ involvedObject.namespace }}", "reason": "{{ reason }}"})
    assert await sent(sink, [event(0)]) == []
    (req,) = receiver.requests
    assert req.path == "/chat.postMessage" and req.headers["Authorization"] == "Bearer xoxb-1"
    body = json.loads(req.body)
    assert body["channel"] == "#ops" and body["text"] == "Event Back-off restarting failed container 0"
    assert body["attachments"] == [{"color": "danger", "fields": [
        {"title": "namespace", "value": "shop", "short": False}, {"title": "reason", "value": "BackOff", "short": False}]}]


async def test_slack_error_codes_are_classified(receiver, build) -> None:
    # A refused message fails alone; a transient code is retried; a wrong token or channel is an access error
    # (docs/delivery.md, "Failures": kept and retried with a long backoff while /readyz says why).
    receiver.answer = lambda n, _s: (200, {"ok": False, "error": "msg_too_long" if n == 1 else "ratelimited"})
    failures = await sent(build("slack", token="x", channel="#ops", api_url=receiver.url), [event(0), event(1)])
    assert [(f.index, f.retryable) for f in failures] == [(0, False), (1, True)]
    receiver.answer = lambda _n, _s: (200, {"ok": False, "error": "channel_not_found"})
    with pytest.raises(AccessError, match="channel_not_found"):
        await sent(build("slack", token="x", channel="#nope", api_url=receiver.url), [event(0)])


async def test_slack_without_token_sends_nothing(receiver, build) -> None:
    with pytest.raises(AccessError, match=r"^slack: no token configured$"):
        await sent(build("slack", token="", channel="#ops", api_url=receiver.url), [event(0)])
    assert receiver.requests == []


async def test_teams_message_card(receiver, build) -> None:
    assert await sent(build("teams", endpoint=f"{receiver.url}/webhookb2/x"), [event(0)]) == []
    card = json.loads(receiver.requests[0].body)
    assert card["@type"] == "MessageCard" and card["@context"] == "https://schema.org/extensions"
    assert card["title"] == "Warning BackOff: Pod shop/web-0" and card["text"] == "Back-off restarting failed container 0"
    assert card["themeColor"] == "D9534F" and card["summary"]


async def test_opsgenie_create_alert_shape(receiver, build) -> None:
    receiver.answer = lambda _n, _s: (202, {"result": "Request will be processed", "requestId": "r1"})
    sink = build("opsgenie", api_key="key-1", api_url=receiver.url, priority="P2",
                 message="Event {{ reason }} for {{ involvedObject.namespace }}/{{ involvedObject.name }}",
                 alias="{{ metadata.uid }}", description="<pre>{{ body | toprettyjson }}</pre>",
                 tags=["event", "{{ reason }}"], details={"cluster": "{{ clusterName }}"})
    assert await sent(sink, [event(0)]) == []
    (req,) = receiver.requests
    assert req.path == "/v2/alerts" and req.headers["Authorization"] == "GenieKey key-1"
    alert = json.loads(req.body)
    assert alert["message"] == "Event BackOff for shop/web-0" and alert["alias"] == "uid-0"
    assert alert["priority"] == "P2" and alert["tags"] == ["event", "BackOff"] and alert["details"] == {"cluster": "prod-eks"}
    assert alert["description"].startswith("<pre>{\n")


async def test_opsgenie_cuts_long_messages(receiver, build) -> None:
    receiver.answer = lambda _n, _s: (202, {})
    await sent(build("opsgenie", api_key="k", api_url=receiver.url, message="x" * 500), [event(0)])
    assert len(json.loads(receiver.requests[0].body)["message"]) == 130


async def test_loki_push_groups_streams_and_orders_entries(receiver, build) -> None:
    receiver.answer = lambda _n, _s: (204, "")
    sink = build("loki", url=receiver.url, tenant_id="team-a",
                 stream_labels={"job": "events", "namespace": "{{ involvedObject.namespace }}"})
    records = [event(2), event(0, involvedObject={"namespace": "kube-system", "name": "x", "kind": "Pod"}), event(1)]
    assert await sent(sink, records) == []
    (req,) = receiver.requests
    assert req.path == "/loki/api/v1/push" and req.headers["X-Scope-OrgID"] == "team-a"
    streams = {tuple(sorted(s["stream"].items())): s["values"] for s in json.loads(req.body)["streams"]}
    shop = streams[(("job", "events"), ("namespace", "shop"))]
    assert [v[0] for v in shop] == ["1763800001000000000", "1763800002000000000"]
    assert json.loads(shop[0][1])["reason"] == "BackOff"
    assert (("job", "events"), ("namespace", "kube-system")) in streams


async def test_loki_rejection_is_permanent_and_throttling_retryable(receiver, build) -> None:
    from kubevigil.sinks.sink import PermanentError

    receiver.answer = lambda _n, _s: (400, "entry out of order")
    with pytest.raises(PermanentError, match="400"):
        await sent(build("loki", url=receiver.url), [event(0)])
    receiver.answer = lambda _n, _s: (429, "rate limited")
    with pytest.raises(RetryableError, match="429"):
        await sent(build("loki", url=receiver.url), [event(0)])


def test_event_exporter_receivers_translate() -> None:
    from kubevigil.config.importers.event_exporter.webhooks import opsgenie, webhook

    params, notes = webhook({"endpoint": "http://localhost:3000", "headers": {"X-API-KEY": "1"},
                             "streamName": "applicationMetric", "layout": {"a": "{{ message }}"}})
    assert params == {"endpoint": "http://localhost:3000", "headers": {"X-API-KEY": "1"}, "layout": {"a": "{{ message }}"}}
    assert "streamName" in notes[0]
    params, notes = opsgenie({"apiKey": "", "priority": "P3", "message": "m"})
    assert params["api_key"] == "" and "apiKey is empty" in notes[-1]
    from kubevigil.config import ConfigError

    with pytest.raises(ConfigError, match="unknown key 'nope'"):
        webhook({"endpoint": "http://x", "nope": 1})
