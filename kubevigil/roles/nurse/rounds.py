"""One round of checks: build the list, run it concurrently, and keep the result as one immutable snapshot."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from kubevigil.roles.nurse.config import NurseSection
from kubevigil.roles.nurse.probe import Check, Outcome, Prober
from kubevigil.roles.nurse.ring import Neighbour

MAX_CONCURRENT = 64  # neighbour_limit 0 on a large cluster must not open thousands of sockets at once
HAPPY = "/alwayshappy"


@dataclass(frozen=True, slots=True)
class Round:
    """Everything one round found; replaced as a whole when the next round ends, so readers never see a mix."""

    number: int
    started_at: float
    finished_at: float
    outcomes: dict[str, Outcome]  # by check type, skipped checks included
    neighbourhood_state: str
    neighbourhood: tuple[Neighbour, ...]  # every candidate, as kubenurse lists them
    checked: tuple[Neighbour, ...]  # the ring's choice among them

    def last_check_result(self) -> dict[str, Any]:
        """kubenurse's /alive `last_check_result`."""
        result: dict[str, Any] = {kind: o.detail for kind, o in self.outcomes.items()}
        result["neighbourhood_state"] = self.neighbourhood_state
        if self.neighbourhood_state != "skipped" and not self.neighbourhood_state.startswith("error"):
            result["neighbourhood"] = [n.alive_view() for n in self.neighbourhood]
        return result

    def measured(self) -> list[Outcome]:
        """The checks that were made (not skipped)."""
        return [o for o in self.outcomes.values() if o.detail != "skipped"]


def dns_url(api_url: str, dns_name: str) -> str:
    """The API server URL with its host replaced by the cluster DNS name (same scheme, port and path)."""
    parts = urlsplit(api_url)
    netloc = f"{dns_name}:{parts.port}" if parts.port else dns_name
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


def fixed_checks(section: NurseSection, api_url: str) -> list[Check | str]:
    """The checks every round makes, in kubenurse's order; a str is the type of a skipped check."""
    api = api_url.rstrip("/")
    out: list[Check | str] = [
        Check("api_server_direct", api + "/version", api=True) if section.api_server.direct else "api_server_direct",
        Check("api_server_dns", dns_url(api, section.api_server.dns_name) + "/version", api=True)
        if section.api_server.dns else "api_server_dns",
        Check("me_ingress", section.ingress_url + HAPPY) if section.ingress_url else "me_ingress",
        Check("me_service", section.service_url + HAPPY) if section.service_url else "me_service",
    ]
    out += [Check(name, url) for name, url in section.extra_checks.items()]
    return out


def neighbour_url(neighbour: Neighbour, section: NurseSection, path: str = HAPPY) -> str:
    """kubenurse's http://<podIP>:8080/alwayshappy, or https://<podIP>:8443 with TLS."""
    tls = section.tls.enabled
    port = section.neighbours.port or (8443 if tls else 8080)
    host = f"[{neighbour.pod_ip}]" if ":" in neighbour.pod_ip else neighbour.pod_ip
    return f"{'https' if tls else 'http'}://{host}:{port}{path}"


async def run_round(prober: Prober, number: int, checks: Sequence[Check | str], neighbourhood_state: str,
                    neighbourhood: Sequence[Neighbour], chosen: Sequence[Neighbour], section: NurseSection,
                    origin: str) -> Round:
    """Make every check at once (bounded), and return the round when the last one ends."""
    started = time.time()
    limit = asyncio.Semaphore(MAX_CONCURRENT)
    all_checks = list(checks) + [Check(n.check_type, neighbour_url(n, section), origin=origin) for n in chosen]

    async def one(check: Check | str) -> Outcome:
        if isinstance(check, str):
            return Outcome.skipped(check)
        async with limit:
            return await prober.check(check)

    outcomes = await asyncio.gather(*(one(c) for c in all_checks))
    return Round(number, started, time.time(), {o.check_type: o for o in outcomes}, neighbourhood_state,
                 tuple(neighbourhood), tuple(chosen))
