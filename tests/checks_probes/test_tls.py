"""The `tls` probe (and `http` over TLS) against a local server with short-lived certificates from a test CA."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path
from typing import Protocol

import pytest
from pydantic import ValidationError

from kubevigil.core.clock import ManualClock
from kubevigil.roles.checks.probes import PROBES, ProbeEnv, TlsProbe
from tests.checks_probes.certs import Issued, make_ca, make_leaf
from tests.checks_probes.servers import RawServer, http_app, serve, silent
from tests.loopback import free_port

DAY = 86400


@pytest.fixture(scope="module")
def ca() -> Issued:
    return make_ca()


@pytest.fixture
def ca_file(ca: Issued, tmp_path: Path) -> str:
    path = tmp_path / "ca.crt"
    path.write_bytes(ca.cert_pem)
    return str(path)


class TlsServer:
    def __init__(self, url: str, sni: list[str | None]) -> None:
        self.url = url
        self.port = int(url.rsplit(":", 1)[1])
        self.sni = sni


class StartTls(Protocol):
    def __call__(self, names: list[str], days: float) -> AbstractAsyncContextManager[TlsServer]: ...


@pytest.fixture
def tls_server(ca: Issued, tmp_path: Path) -> StartTls:
    """Start an HTTPS server with a leaf for `names` valid `days` more days; it records the SNI it was sent."""
    @asynccontextmanager
    async def start(names: list[str], days: float) -> AsyncIterator[TlsServer]:
        ctx = make_leaf(ca, names, days).server_context(tmp_path, f"leaf-{time.monotonic_ns()}")
        seen: list[str | None] = []
        ctx.sni_callback = lambda sslobj, name, context: seen.append(name)
        async with serve(http_app(), ssl_context=ctx) as url:
            yield TlsServer(url, seen)
    return start


def probe(**params: object) -> TlsProbe:
    spec = PROBES["tls"].model_validate(params)
    assert isinstance(spec, TlsProbe)
    return spec


async def test_valid_certificate(env: ProbeEnv, tls_server: StartTls, ca_file: str) -> None:
    async with tls_server(["localhost", "127.0.0.1"], days=90) as server:
        result = await probe(host="127.0.0.1", port=server.port, ca_file=ca_file).run(env, timeout=10)
        assert result.ok, result.message
        assert result.message == f"tls 127.0.0.1:{server.port}: certificate valid for 90.0 more days, " \
                                 "chain and name verified"
        assert 89.9 < result.values["days_to_expiry"] <= 90


async def test_certificate_expiring_within_the_threshold(env: ProbeEnv, tls_server: StartTls, ca_file: str) -> None:
    async with tls_server(["127.0.0.1"], days=2) as server:
        result = await probe(host="127.0.0.1", port=server.port, ca_file=ca_file, min_days_to_expiry=14).run(env, 10)
        assert not result.ok
        assert result.message.endswith(": expiring: the certificate expires in 2.0 days (threshold 14)")
        assert 1.9 < result.values["days_to_expiry"] <= 2


async def test_days_are_counted_on_the_probe_clock(env: ProbeEnv, tls_server: StartTls, ca_file: str) -> None:
    later = ProbeEnv(api=env.api, clock=ManualClock(start=time.time() + 89 * DAY), http=env.http)
    async with tls_server(["127.0.0.1"], days=90) as server:
        result = await probe(host="127.0.0.1", port=server.port, ca_file=ca_file, min_days_to_expiry=7).run(later, 10)
        assert not result.ok and "expires in 1.0 days" in result.message


async def test_expired_certificate_fails_verification_and_still_reports_days(env: ProbeEnv, tls_server: StartTls,
                                                                            ca_file: str) -> None:
    async with tls_server(["127.0.0.1"], days=-1) as server:
        result = await probe(host="127.0.0.1", port=server.port, ca_file=ca_file).run(env, timeout=10)
        assert not result.ok
        assert result.message.endswith(": tls: certificate verify failed: certificate has expired")
        assert -1.1 < result.values["days_to_expiry"] < -0.9


async def test_name_mismatch_and_sni(env: ProbeEnv, tls_server: StartTls, ca_file: str) -> None:
    async with tls_server(["web.probe.test"], days=30) as server:
        good = await probe(host="127.0.0.1", port=server.port, server_name="web.probe.test", ca_file=ca_file).run(env, 10)
        assert good.ok, good.message
        assert "web.probe.test" in server.sni
        bad = await probe(host="127.0.0.1", port=server.port, server_name="other.probe.test", ca_file=ca_file).run(env, 10)
        assert not bad.ok
        assert "tls: certificate verify failed: Hostname mismatch" in bad.message
        assert bad.values["days_to_expiry"] > 29


async def test_unknown_ca_against_the_system_store(env: ProbeEnv, tls_server: StartTls) -> None:
    async with tls_server(["127.0.0.1"], days=30) as server:
        result = await probe(host="127.0.0.1", port=server.port).run(env, timeout=10)
        assert not result.ok
        assert "tls: certificate verify failed: unable to get local issuer certificate" in result.message
        unverified = probe(host="127.0.0.1", port=server.port, verify_chain=False, check_hostname=False)
        result = await unverified.run(env, timeout=10)
        assert result.ok and result.message.endswith("certificate valid for 30.0 more days")


async def test_plain_tcp_server_fails_the_handshake(env: ProbeEnv, web_url: str) -> None:
    port = int(web_url.rsplit(":", 1)[1])
    result = await probe(host="127.0.0.1", port=port, verify_chain=False, check_hostname=False).run(env, timeout=10)
    assert not result.ok
    assert ": tls: handshake failed: " in result.message or ": reset: " in result.message, result.message


async def test_silent_server_times_out_in_the_handshake(env: ProbeEnv) -> None:
    async with RawServer(silent) as server:
        result = await probe(host="127.0.0.1", port=server.port).run(env, timeout=0.5)
    assert result.message == f"tls 127.0.0.1:{server.port}: timeout after 0.5s in the TLS handshake"


async def test_refused_and_missing_ca_file(env: ProbeEnv, tmp_path: Path) -> None:
    port = free_port()
    assert (await probe(host="127.0.0.1", port=port).run(env, 10)).message.endswith("refused: connection refused")
    missing = await probe(host="127.0.0.1", port=port, ca_file=str(tmp_path / "nope.pem")).run(env, 10)
    assert missing.message.endswith(": config: cannot load ca_file: No such file or directory")


def test_hostname_check_needs_chain_verification() -> None:
    with pytest.raises(ValidationError, match="check_hostname needs verify_chain"):
        PROBES["tls"].model_validate({"host": "x", "verify_chain": False})


async def test_http_probe_over_tls(env: ProbeEnv, tls_server: StartTls, ca_file: str) -> None:
    http = PROBES["http"]
    async with tls_server(["127.0.0.1"], days=30) as server:
        url = f"{server.url}/ok"
        trusted = await http.model_validate({"url": url, "tls": {"ca_file": ca_file}}).run(env, 10)
        assert trusted.ok, trusted.message
        untrusted = await http.model_validate({"url": url}).run(env, 10)
        assert not untrusted.ok
        assert untrusted.message.endswith(": tls: certificate verify failed: unable to get local issuer certificate")
        skipped = await http.model_validate({"url": url, "tls": {"insecure_skip_verify": True}}).run(env, 10)
        assert skipped.ok, skipped.message


async def test_http_probe_with_a_missing_ca_file(env: ProbeEnv, tmp_path: Path) -> None:
    spec = PROBES["http"].model_validate({"url": "https://127.0.0.1:9/", "tls": {"ca_file": str(tmp_path / "x")}})
    result = await spec.run(env, 10)
    assert result.message.endswith(": config: cannot load the TLS files: No such file or directory")
