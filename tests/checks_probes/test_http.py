"""The `http` probe against local servers: status, body, latency budget, and every way a request can fail."""

from __future__ import annotations

import asyncio

import aiohttp
import pytest
from pydantic import ValidationError

from kubevigil.core.clock import SystemClock
from kubevigil.roles.checks.probes import PROBES, HttpProbe, ProbeEnv
from tests.checks_probes.servers import SECRET_TOKEN, RawServer, cut_body, reset_after_request
from tests.conditions import eventually
from tests.loopback import free_port


def probe(**params: object) -> HttpProbe:
    spec = PROBES["http"].model_validate(params)
    assert isinstance(spec, HttpProbe)
    return spec


async def test_ok_reports_status_and_latency(env: ProbeEnv, web_url: str) -> None:
    result = await probe(url=f"{web_url}/ok", body_regex=r"all systems (ok|fine)").run(env, timeout=10)
    assert result.ok, result.message
    assert result.message.startswith(f"GET {web_url}/ok: 200 in ")
    assert result.values["status_code"] == 200
    assert 0 < result.values["latency_seconds"] <= result.duration


async def test_unexpected_status_fails_naming_it(env: ProbeEnv, web_url: str) -> None:
    result = await probe(url=f"{web_url}/status/503").run(env, timeout=10)
    assert not result.ok
    assert result.message == f"GET {web_url}/status/503: http: status 503, expected 2xx"
    assert result.values["status_code"] == 503


@pytest.mark.parametrize(("status", "expected"), [
    (404, [404]), (503, ["5xx"]), (302, ["300-399", 200]), (200, ["200"]),
])
async def test_expected_status_forms(env: ProbeEnv, web_url: str, status: int, expected: list[object]) -> None:
    result = await probe(url=f"{web_url}/status/{status}", status=expected).run(env, timeout=10)
    assert result.ok, result.message


async def test_body_mismatch(env: ProbeEnv, web_url: str) -> None:
    result = await probe(url=f"{web_url}/ok", body_regex="degraded").run(env, timeout=10)
    assert not result.ok
    assert result.message.endswith(": mismatch: the body does not match 'degraded'")


async def test_body_is_read_only_up_to_a_mebibyte(env: ProbeEnv, web_url: str) -> None:
    # The server sends 4 MiB and then the needle: the probe stops reading long before it.
    result = await probe(url=f"{web_url}/big", body_regex="needle").run(env, timeout=20)
    assert not result.ok and "mismatch" in result.message


async def test_slow_answer_over_the_budget_fails(env: ProbeEnv, web_url: str) -> None:
    result = await probe(url=f"{web_url}/slow?seconds=1", latency_budget_seconds=0.2).run(env, timeout=20)
    assert not result.ok
    assert ": slow: answered in " in result.message and "over the 0.2s budget" in result.message
    assert result.values["latency_seconds"] >= 1.0


async def test_timeout_covers_the_whole_request(env: ProbeEnv, web_url: str) -> None:
    result = await probe(url=f"{web_url}/hang").run(env, timeout=0.5)
    assert not result.ok
    assert result.message == f"GET {web_url}/hang: timeout after 0.5s waiting for the response"
    assert result.duration < 10  # bounded by the timeout, not by the server (a generous bound: the box is shared)


async def test_refused(env: ProbeEnv) -> None:
    port = free_port()
    result = await probe(url=f"http://127.0.0.1:{port}/").run(env, timeout=10)
    assert not result.ok
    assert result.message == f"GET http://127.0.0.1:{port}/: refused: connection refused"


async def test_reset_by_peer(env: ProbeEnv) -> None:
    async with RawServer(reset_after_request) as server:
        result = await probe(url=f"http://127.0.0.1:{server.port}/").run(env, timeout=10)
    assert not result.ok
    assert ": reset: " in result.message, result.message


async def test_body_cut_short(env: ProbeEnv) -> None:
    async with RawServer(cut_body) as server:
        result = await probe(url=f"http://127.0.0.1:{server.port}/", body_regex="0123").run(env, timeout=10)
    assert not result.ok
    assert result.message.endswith(": reset: the response body was cut short"), result.message


async def test_redirects_are_followed_unless_told_not_to(env: ProbeEnv, web_url: str) -> None:
    assert (await probe(url=f"{web_url}/redirect").run(env, timeout=10)).ok
    result = await probe(url=f"{web_url}/redirect", follow_redirects=False).run(env, timeout=10)
    assert not result.ok and "status 302" in result.message


async def test_method_and_request_body(env: ProbeEnv, web_url: str) -> None:
    result = await probe(url=f"{web_url}/echo", method="POST", body="hello", body_regex="^POST hello$").run(env, 10)
    assert result.ok, result.message


async def test_secret_header_is_sent_and_never_shown(env: ProbeEnv, web_url: str) -> None:
    spec = probe(url=f"{web_url}/private", headers={"Authorization": f"Bearer {SECRET_TOKEN}"})
    assert (await spec.run(env, timeout=10)).ok
    assert SECRET_TOKEN not in repr(spec) and SECRET_TOKEN not in str(spec)
    wrong = probe(url=f"{web_url}/private", headers={"Authorization": f"Bearer {SECRET_TOKEN}-old"})
    result = await wrong.run(env, timeout=10)
    assert not result.ok and "status 401" in result.message
    assert SECRET_TOKEN not in result.message


async def test_url_credentials_and_query_are_never_shown(env: ProbeEnv, web_url: str) -> None:
    url = web_url.replace("http://", "http://admin:hunter2@") + "/status/500?token=abc123#frag"
    result = await probe(url=url).run(env, timeout=10)
    assert not result.ok
    assert result.message == f"GET {web_url}/status/500?…: http: status 500, expected 2xx"


@pytest.mark.parametrize("value", ["abc\r\nInjected: 1", "abc\x00def"])
async def test_header_value_with_a_control_character_fails_without_showing_it(env: ProbeEnv, web_url: str,
                                                                              value: str) -> None:
    result = await probe(url=f"{web_url}/ok", headers={"X-Token": value}).run(env, timeout=10)
    assert not result.ok
    assert result.message.endswith("config: the value of header 'X-Token' has a control character (a line break?)")
    assert "abc" not in result.message


@pytest.mark.parametrize(("params", "says"), [
    ({"url": "ftp://x/"}, "is not an http:// or https:// URL with a host"),
    ({"url": "http://a b/"}, "is not an http:// or https:// URL with a host"),
    ({"url": "http://u:pw@[::1/?token=t"}, "'http://\\[::1/' is not a valid URL: Invalid IPv6 URL"),
    ({"url": "http://127.0.0.1:99999/"}, "is not a valid URL: Port out of range"),
    ({"url": "http://x/", "status": ["6xx"]}, "is not a status"),
    ({"url": "http://x/", "status": ["300-200"]}, "is not a status"),
    ({"url": "http://x/", "body_regex": "(unclosed"}, "is not a valid regular expression"),
    ({"url": "http://x/", "headers": {"Bad Header": "v"}}, "is not a valid HTTP header name"),
    ({"url": "http://x/", "latency_budget_seconds": 0}, "greater than 0"),
    ({"url": "http://x/", "colour": "blue"}, "Extra inputs are not permitted"),
])
def test_bad_params_are_rejected_with_a_reason(params: dict[str, object], says: str) -> None:
    with pytest.raises(ValidationError, match=says.replace("(", r"\(")):
        PROBES["http"].model_validate(params)


async def test_failures_leak_no_connection_and_no_task(offline_api: object, web_url: str) -> None:
    """With one connection allowed, every failed run must give it back, or the last probe could not connect."""
    tasks_before = len(asyncio.all_tasks())
    connector = aiohttp.TCPConnector(limit=1)
    async with aiohttp.ClientSession(connector=connector) as session, \
            RawServer(reset_after_request) as resetter, RawServer(cut_body) as cutter:
        env = ProbeEnv(api=offline_api, clock=SystemClock(), http=session)  # type: ignore[arg-type]
        failing = [
            (probe(url=f"{web_url}/hang"), 0.3),
            (probe(url=f"{web_url}/big", body_regex="needle"), 20),
            (probe(url=f"{web_url}/status/500"), 10),
            (probe(url=f"{web_url}/slow?seconds=0.3", latency_budget_seconds=0.01), 10),
            (probe(url=f"http://127.0.0.1:{resetter.port}/"), 10),
            (probe(url=f"http://127.0.0.1:{cutter.port}/"), 10),
        ]
        for spec, timeout in failing * 2:
            assert not (await spec.run(env, timeout)).ok
        result = await probe(url=f"{web_url}/ok").run(env, timeout=10)
        assert result.ok, result.message
        assert len(connector._acquired) == 0  # nothing checked out once the runs are over
    await eventually(lambda: len(asyncio.all_tasks()) <= tasks_before, timeout=10)
