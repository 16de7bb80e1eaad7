"""The `dns` probe: resolve a name against a given server (or the system resolver) and compare the answers."""

from __future__ import annotations

import ipaddress
import time
from collections.abc import Iterable
from functools import cached_property
from typing import TYPE_CHECKING, Any, Literal

from pydantic import Field, field_validator, model_validator

from kubevigil.core.hostport import split_host_optional_port
from kubevigil.roles.checks.probes.probe import Attempt, CheckFailed, Outcome, ProbeEnv, ProbeSpec

if TYPE_CHECKING:
    import dns.asyncresolver

RecordType = Literal["A", "AAAA", "CNAME", "SRV", "TXT"]
DNS_PORT = 53
SHOWN_ANSWERS = 5  # answers listed in a message; the rest are counted


def server_address(text: str) -> tuple[str, int]:
    """"10.0.0.10" / "10.0.0.10:5353" / "::1" / "[::1]:5353" -> (ip, port); ValueError otherwise."""
    try:
        host, port = split_host_optional_port(text, DNS_PORT)
    except ValueError as exc:
        raise ValueError(f"{text!r}: {exc}; write an IPv6 server as [addr] or [addr]:port") from None
    ipaddress.ip_address(host)  # a name would need a resolver to find the resolver
    if not 1 <= port <= 65535:
        raise ValueError(f"port {port} is out of range")
    return host, port


def normalize(record_type: RecordType, value: str) -> str:
    """One spelling per answer, for comparison: IPs compressed, names lower case without the final dot."""
    if record_type in ("A", "AAAA"):
        address = ipaddress.ip_address(value.strip())
        if address.version != (4 if record_type == "A" else 6):
            raise ValueError(f"{value!r} is not an IPv{4 if record_type == 'A' else 6} address")
        return str(address)
    if record_type == "CNAME":
        return _name(value)
    if record_type == "SRV":
        parts = value.split()
        if len(parts) != 4 or not all(p.isdigit() for p in parts[:3]):
            raise ValueError(f"{value!r} is not an SRV answer 'priority weight port target'")
        return " ".join([*(str(int(p)) for p in parts[:3]), _name(parts[3])])
    return value  # TXT: the record's strings joined, compared exactly


def _name(value: str) -> str:
    return value.strip().rstrip(".").lower()


class DnsProbe(ProbeSpec):
    """Pass when the name resolves (and, with `expect`, to exactly those answers or at least them)."""

    name: str = Field(min_length=1, description="Name to resolve")
    type: RecordType = "A"
    expect: list[str] = Field(default_factory=list, description="Expected answers; empty: any answer passes")
    match: Literal["exact", "contains"] = Field(
        "exact", description="exact: the answers are `expect`; contains: every `expect` value is among them")
    server: str | None = Field(
        None, description="DNS server 'ip', 'ip:port' or '[ipv6]:port'; default the system resolver with its search list")

    @field_validator("server")
    @classmethod
    def _server_valid(cls, value: str | None) -> str | None:
        if value is not None:
            server_address(value)
        return value

    @model_validator(mode="after")
    def _expect_valid(self) -> DnsProbe:
        for value in self.expect:
            normalize(self.type, value)
        return self

    @cached_property
    def _expected(self) -> frozenset[str]:
        return frozenset(normalize(self.type, value) for value in self.expect)

    def target(self) -> str:
        return f"dns {self.type} {self.name} @{self.server or 'system resolver'}"

    async def check(self, env: ProbeEnv, attempt: Attempt) -> Outcome:
        import dns.exception
        import dns.resolver

        attempt.doing = "waiting for the DNS server"
        started = time.perf_counter()
        try:
            resolver = self._resolver(attempt.timeout)
            answer = await resolver.resolve(self.name, self.type, search=self.server is None)
        except dns.resolver.LifetimeTimeout:
            raise TimeoutError from None
        except dns.resolver.NXDOMAIN:
            raise CheckFailed("dns: no such name (NXDOMAIN)") from None
        except dns.resolver.NoAnswer:
            raise CheckFailed(f"dns: the name has no {self.type} record") from None
        except dns.resolver.NoNameservers:
            raise CheckFailed("dns: no server gave an answer (SERVFAIL or REFUSED)") from None
        except dns.resolver.NoResolverConfiguration:
            raise CheckFailed("dns: the system resolver has no configuration (/etc/resolv.conf)") from None
        except dns.exception.DNSException as exc:
            raise CheckFailed(f"dns: {type(exc).__name__}") from None
        latency = time.perf_counter() - started
        answers = frozenset(_answer_texts(self.type, answer))
        return self._judge(answers, {"latency_seconds": latency, "answers": float(len(answers))})

    def _resolver(self, timeout: float) -> dns.asyncresolver.Resolver:
        import dns.asyncresolver

        if self.server is None:
            resolver = system_resolver()
        else:
            resolver = dns.asyncresolver.Resolver(configure=False)
            host, resolver.port = server_address(self.server)
            resolver.nameservers = [host]
        resolver.lifetime = timeout + 1  # the run's own timeout fires first and says where it stopped
        return resolver

    def _judge(self, answers: frozenset[str], values: dict[str, float]) -> Outcome:
        got = _listed(answers)
        if self.match == "exact" and self._expected and answers != self._expected:
            missing, extra = self._expected - answers, answers - self._expected
            detail = "; ".join(part for part in (f"missing {_listed(missing)}" if missing else "",
                                                 f"unexpected {_listed(extra)}" if extra else "") if part)
            return Outcome(False, f"mismatch: answers {got}: {detail}", values)
        if self.match == "contains" and not self._expected <= answers:
            return Outcome(False, f"mismatch: answers {got}: missing {_listed(self._expected - answers)}", values)
        return Outcome(True, f"answers {got} in {values['latency_seconds']:.3f}s", values)


def system_resolver() -> dns.asyncresolver.Resolver:
    """The resolver configured in /etc/resolv.conf (a pod's: cluster DNS, its search list and ndots)."""
    import dns.asyncresolver

    return dns.asyncresolver.Resolver()


def _answer_texts(record_type: RecordType, answer: Iterable[Any]) -> Iterable[str]:
    for rdata in answer:
        if record_type in ("A", "AAAA"):
            yield normalize(record_type, rdata.address)
        elif record_type == "CNAME":
            yield _name(rdata.target.to_text())
        elif record_type == "SRV":
            yield f"{rdata.priority} {rdata.weight} {rdata.port} {_name(rdata.target.to_text())}"
        else:
            yield b"".join(rdata.strings).decode("utf-8", "replace")


def _listed(values: Iterable[str]) -> str:
    ordered = sorted(values)
    more = f" and {len(ordered) - SHOWN_ANSWERS} more" if len(ordered) > SHOWN_ANSWERS else ""
    return "[" + ", ".join(ordered[:SHOWN_ANSWERS]) + more + "]"
