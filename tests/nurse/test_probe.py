"""One check against real sockets: its phases, and each failure in its bounded class."""

from __future__ import annotations

import ssl
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio
from aiohttp import web

from kubevigil.roles.nurse.probe import ERROR_CLASSES, Check, Prober, plain_context, traced_context
from kubevigil.sim.certs import loopback_cert
from tests.nurse.peers import http_peer, loopback_prefix, resetting_peer, silent_peer

PREFIX = loopback_prefix()


async def no_headers() -> dict[str, str]:
    return {}


@pytest_asyncio.fixture
async def prober() -> AsyncIterator[Prober]:
    p = Prober(plain_tls=plain_context(insecure=False, extra_ca=None, cluster_ca=False),
               api_tls=traced_context(ssl.create_default_context()), api_headers=no_headers, timeout=1.5,
               connect_timeout=1.0)
    yield p
    await p.close()


async def ok(_: web.Request) -> web.Response:
    return web.Response()


def phases(outcome: object) -> list[str]:
    return [name for name, _ in outcome.phases]  # type: ignore[attr-defined]


async def test_plain_http_phases_in_order(prober: Prober) -> None:
    async with http_peer(PREFIX + "1"):
        outcome = await prober.check(Check("path_n1", f"http://{PREFIX}1:8080/alwayshappy", origin="me"))
    assert outcome.ok and outcome.status == 200 and outcome.event is None and outcome.detail == "ok"
    assert phases(outcome) == ["connect_start", "connect_done", "got_conn", "wrote_request", "got_first_resp_byte"]
    times = [t for _, t in outcome.phases]
    assert times == sorted(times) and outcome.seconds == times[-1]


async def test_https_by_name_has_dns_and_tls_phases(prober: Prober, tmp_path: Path) -> None:
    cert = loopback_cert()
    (tmp_path / "ca.pem").write_bytes(cert.cert_pem)
    trusting = Prober(plain_tls=plain_context(insecure=False, extra_ca=tmp_path / "ca.pem", cluster_ca=False),
                      api_tls=traced_context(ssl.create_default_context()), api_headers=no_headers, timeout=3,
                      connect_timeout=2)
    app = web.Application()
    app.router.add_get("/alwayshappy", ok)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=cert.server_context())
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        good = await trusting.check(Check("me_ingress", f"https://localhost:{port}/alwayshappy"))
        bad = await prober.check(Check("me_ingress", f"https://localhost:{port}/alwayshappy"))  # CA not trusted
    finally:
        await trusting.close()
        await runner.cleanup()
    assert good.ok, good
    assert phases(good) == ["dns_start", "dns_done", "connect_start", "connect_done", "tls_handshake_start",
                            "tls_handshake_done", "got_conn", "wrote_request", "got_first_resp_byte"]
    assert (bad.ok, bad.event, bad.status) == (False, "tls", None)
    assert "tls_handshake_done" not in phases(bad) and "tls_handshake_start" in phases(bad)


async def test_refused(prober: Prober) -> None:
    outcome = await prober.check(Check("path_gone", f"http://{PREFIX}2:8080/alwayshappy"))
    assert (outcome.event, outcome.detail) == ("refused", "refused: connection refused")


async def test_stops_answering_is_a_timeout(prober: Prober) -> None:
    async with silent_peer(PREFIX + "3"):
        outcome = await prober.check(Check("path_hung", f"http://{PREFIX}3:8080/alwayshappy"))
    assert outcome.event == "timeout" and outcome.detail == "timeout: no answer within 1.5s"
    assert "wrote_request" in phases(outcome) and "got_first_resp_byte" not in phases(outcome)


async def test_reset(prober: Prober) -> None:
    async with resetting_peer(PREFIX + "4"):
        outcome = await prober.check(Check("path_reset", f"http://{PREFIX}4:8080/alwayshappy"))
    assert outcome.event == "reset", outcome


async def test_slow_answer_is_ok_and_measured(prober: Prober) -> None:
    async with http_peer(PREFIX + "5", delay=0.4):
        outcome = await prober.check(Check("path_slow", f"http://{PREFIX}5:8080/alwayshappy"))
    assert outcome.ok and outcome.seconds is not None and outcome.seconds >= 0.4


async def test_status_other_than_200(prober: Prober) -> None:
    async with http_peer(PREFIX + "6", status=503):
        outcome = await prober.check(Check("extra", f"http://{PREFIX}6:8080/health"))
    assert (outcome.ok, outcome.status, outcome.event) == (False, 503, "status_code_503")
    assert outcome.detail == "503 Service Unavailable"


async def test_headers_sent(prober: Prober) -> None:
    seen: list[dict[str, str]] = []
    async with http_peer(PREFIX + "7", seen=seen):
        await prober.check(Check("path_n7", f"http://{PREFIX}7:8080/alwayshappy", origin="nurse-abc"))
        await prober.check(Check("extra", f"http://{PREFIX}7:8080/version"))  # kubenurse sent its token here
    assert seen[0]["KUBENURSE-NEIGHBOUR-ORIGIN"] == "nurse-abc"
    assert seen[0]["User-Agent"].startswith("kubevigil-nurse/")
    assert "Authorization" not in seen[1] and "KUBENURSE-NEIGHBOUR-ORIGIN" not in seen[1]


def test_error_classes_are_bounded() -> None:
    assert ERROR_CLASSES == ("refused", "unreachable", "timeout", "reset", "dns", "tls", "other")


@pytest.mark.parametrize("url", ["http://[::1]:1/x", "http://127.0.0.1:0/x"])
async def test_other_failures_never_raise(prober: Prober, url: str) -> None:
    outcome = await prober.check(Check("x", url))
    assert not outcome.ok and outcome.event in ERROR_CLASSES
