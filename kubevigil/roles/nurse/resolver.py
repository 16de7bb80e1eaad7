"""Name resolution through chosen DNS servers (e.g. node-local DNS) instead of the system resolver."""

from __future__ import annotations

import socket
from collections.abc import Sequence

import dns.asyncresolver
import dns.exception
import dns.nameserver
import dns.resolver
from aiohttp.abc import AbstractResolver, ResolveResult

from kubevigil.core.hostport import split_host_optional_port
from kubevigil.roles.nurse.config import DNS_PORT

_NOT_FOUND = (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer)


def _server(text: str) -> dns.nameserver.Do53Nameserver:
    """`10.0.0.10`, `127.0.0.53:5353`, `[::1]:53` -> a plain-DNS server (port 53 unless given)."""
    host, port = split_host_optional_port(text, DNS_PORT)
    return dns.nameserver.Do53Nameserver(host, port)


class NameserverResolver(AbstractResolver):
    """An aiohttp resolver asking only the given servers (A, then AAAA), with a bounded time per lookup."""

    def __init__(self, servers: Sequence[str], timeout: float) -> None:
        self._resolver = dns.asyncresolver.Resolver(configure=False)
        self._resolver.nameservers = [_server(s) for s in servers]
        self._resolver.lifetime = timeout
        self._resolver.timeout = min(timeout, 2.0)

    async def resolve(self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
                      ) -> list[ResolveResult]:
        kinds = {socket.AF_INET: ("A",), socket.AF_INET6: ("AAAA",)}.get(family, ("A", "AAAA"))
        found: list[ResolveResult] = []
        failure: dns.exception.DNSException | None = None
        for kind in kinds:
            try:
                answer = await self._resolver.resolve(host, kind, search=False)
            except _NOT_FOUND:
                continue
            except dns.exception.DNSException as exc:  # e.g. a server refusing AAAA: the A answer may still do
                failure = failure or exc
                continue
            af = socket.AF_INET if kind == "A" else socket.AF_INET6
            found += [ResolveResult(hostname=host, host=r.to_text(), port=port, family=af, proto=0,
                                    flags=socket.AI_NUMERICHOST) for r in answer]
        if found:
            return found
        if isinstance(failure, dns.exception.Timeout):
            raise socket.gaierror(socket.EAI_AGAIN, f"no answer for {host} from the DNS servers")
        if failure is not None:
            raise socket.gaierror(socket.EAI_FAIL, f"{host}: {type(failure).__name__}")
        raise socket.gaierror(socket.EAI_NONAME, f"{host} not found")

    async def close(self) -> None:
        return None
