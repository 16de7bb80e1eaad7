"""The `dns` probe against Debian's dnsmasq serving A/AAAA/CNAME/SRV/TXT records on a loopback port.

dnsmasq runs with its own config only: no upstream servers, no /etc/hosts, no resolv.conf, so no query leaves
127.0.0.1. The system resolver is never used here (it would send packets off the machine); its code path is
driven through a resolver pointed at dnsmasq with a search list, as a pod's resolv.conf would give.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator

import dns.asyncresolver
import dns.name
import pytest
from pydantic import ValidationError

from kubevigil.roles.checks.probes import PROBES, DnsProbe, ProbeEnv
from kubevigil.roles.checks.probes import dns as dns_probe
from tests.checks_probes import peers
from tests.checks_probes.peers import DNSMASQ

pytestmark = pytest.mark.skipif(DNSMASQ is None, reason="dnsmasq missing: scripts/test installs Debian's dnsmasq-base")


@pytest.fixture(scope="module")
def dnsmasq(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A running dnsmasq; yields its address as the probe's `server` ("127.0.0.1:port")."""
    with peers.dnsmasq(tmp_path_factory.mktemp("dnsmasq")) as address:
        yield address


def probe(**params: object) -> DnsProbe:
    spec = PROBES["dns"].model_validate(params)
    assert isinstance(spec, DnsProbe)
    return spec


@pytest.mark.parametrize(("name", "type_", "expect"), [
    ("web.probe.test", "A", ["127.0.0.10"]),
    ("web.probe.test", "AAAA", ["0:0:0:0:0:0:0:1"]),
    ("multi.probe.test", "A", ["127.0.0.12", "127.0.0.11"]),
    ("alias.probe.test", "CNAME", ["WEB.probe.test."]),
    ("alias.probe.test", "A", ["127.0.0.10"]),
    ("_http._tcp.probe.test", "SRV", ["10 5 8080 web.probe.test"]),
    ("txt.probe.test", "TXT", ["v=probe1 ok"]),
])
async def test_records_resolve_to_the_expected_answers(env: ProbeEnv, dnsmasq: str, name: str, type_: str,
                                                       expect: list[str]) -> None:
    result = await probe(name=name, type=type_, expect=expect, server=dnsmasq).run(env, timeout=10)
    assert result.ok, result.message
    assert result.message.startswith(f"dns {type_} {name} @{dnsmasq}: answers [")
    assert result.values["answers"] == len(expect)
    assert result.values["latency_seconds"] > 0


async def test_any_answer_passes_without_expect(env: ProbeEnv, dnsmasq: str) -> None:
    result = await probe(name="multi.probe.test", server=dnsmasq).run(env, timeout=10)
    assert result.ok and "[127.0.0.11, 127.0.0.12]" in result.message


async def test_exact_mismatch_names_missing_and_unexpected(env: ProbeEnv, dnsmasq: str) -> None:
    result = await probe(name="multi.probe.test", expect=["127.0.0.11", "127.0.0.99"], server=dnsmasq).run(env, 10)
    assert not result.ok
    assert result.message.endswith(
        ": mismatch: answers [127.0.0.11, 127.0.0.12]: missing [127.0.0.99]; unexpected [127.0.0.12]")


async def test_contains(env: ProbeEnv, dnsmasq: str) -> None:
    spec = probe(name="multi.probe.test", expect=["127.0.0.12"], match="contains", server=dnsmasq)
    assert (await spec.run(env, 10)).ok
    spec = probe(name="multi.probe.test", expect=["127.0.0.13"], match="contains", server=dnsmasq)
    result = await spec.run(env, 10)
    assert not result.ok and result.message.endswith("missing [127.0.0.13]")


async def test_nxdomain_no_answer_and_refused(env: ProbeEnv, dnsmasq: str) -> None:
    nx = await probe(name="nope.probe.test", server=dnsmasq).run(env, 10)
    assert nx.message == f"dns A nope.probe.test @{dnsmasq}: dns: no such name (NXDOMAIN)"
    nodata = await probe(name="web.probe.test", type="TXT", server=dnsmasq).run(env, 10)
    assert nodata.message.endswith(": dns: the name has no TXT record")
    refused = await probe(name="example.org", server=dnsmasq).run(env, 10)  # not local, and no upstream
    assert refused.message.endswith(": dns: no server gave an answer (SERVFAIL or REFUSED)")


async def test_server_that_never_answers_times_out(env: ProbeEnv) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as mute:
        mute.bind(("127.0.0.1", 0))
        server = f"127.0.0.1:{mute.getsockname()[1]}"
        result = await probe(name="web.probe.test", server=server).run(env, timeout=0.5)
    assert result.message == f"dns A web.probe.test @{server}: timeout after 0.5s waiting for the DNS server"


async def test_system_resolver_uses_its_search_list(env: ProbeEnv, dnsmasq: str,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    host, port = dnsmasq.split(":")

    def pod_like_resolver() -> dns.asyncresolver.Resolver:
        resolver = dns.asyncresolver.Resolver(configure=False)
        resolver.nameservers, resolver.port = [host], int(port)
        resolver.search, resolver.ndots = [dns.name.from_text("probe.test")], 5
        return resolver

    monkeypatch.setattr(dns_probe, "system_resolver", pod_like_resolver)
    result = await probe(name="web", expect=["127.0.0.10"]).run(env, timeout=10)
    assert result.ok, result.message
    assert result.message.startswith("dns A web @system resolver: answers [127.0.0.10]")


@pytest.mark.parametrize(("params", "says"), [
    ({"name": "x", "type": "MX"}, "Input should be"),
    ({"name": "x", "expect": ["::1"]}, "is not an IPv4 address"),
    ({"name": "x", "type": "AAAA", "expect": ["10.0.0.1"]}, "is not an IPv6 address"),
    ({"name": "x", "type": "SRV", "expect": ["web 80"]}, "is not an SRV answer"),
    ({"name": "x", "server": "dns.example:53"}, "does not appear to be an IPv4 or IPv6 address"),
    ({"name": "x", "server": "[::1]:99999"}, "out of range"),
])
def test_bad_params(params: dict[str, object], says: str) -> None:
    with pytest.raises(ValidationError, match=says):
        PROBES["dns"].model_validate(params)


def test_server_forms() -> None:
    assert dns_probe.server_address("10.0.0.10") == ("10.0.0.10", 53)
    assert dns_probe.server_address("127.0.0.1:5353") == ("127.0.0.1", 5353)
    assert dns_probe.server_address("[::1]:5353") == ("::1", 5353)
    assert dns_probe.server_address("::1") == ("::1", 53)
