"""Which panels the page has and where their data comes from: one provider per role, plus the process itself."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import structlog

from kubevigil.roles import checks, events, nurse, scrape, status
from kubevigil.roles.role import Role
from kubevigil.web import samples
from kubevigil.web.process import Process, process_panel

log = structlog.get_logger("kubevigil.web")

Provider = Callable[[Role, Mapping[str, str]], Awaitable[dict[str, Any] | None]]

# Role name -> the role's panel data provider (its package's `panel`, which imports roles/<role>/panel.py late).
# When RoleSpec has its optional `panel` field, `provider()` reads ROLES[name].panel and this table goes.
ROLE_PANELS: dict[str, Provider] = {
    "status": status.panel,
    "checks": checks.panel,
    "events": events.panel,
    "scrape": scrape.panel,
    "nurse": nurse.panel,
}
TITLES = {"status": "Heartbeat", "events": "Events", "checks": "Checks", "nurse": "Network", "scrape": "Capacity",
          "process": "Process"}
PROCESS = "process"
PROVIDER_TIMEOUT = 5.0  # the nurse asks every other nurse (2 s timeout each, in parallel); nothing else waits


def provider(name: str) -> Provider | None:
    return ROLE_PANELS.get(name)


def names(process: Process) -> list[str]:
    """The page's panels in order: each running role that has a provider, then the process."""
    return [name for name in ROLE_PANELS if name in process.roles] + [PROCESS]


def title(name: str) -> str:
    return TITLES.get(name, name.capitalize())


async def data(process: Process, name: str, query: Mapping[str, str]) -> dict[str, Any] | None:
    """The panel's data; None when its role has nothing to show (not running here, standby, no results yet)."""
    if name == PROCESS:
        return process_panel(process)
    role, give = process.roles.get(name), provider(name)
    if role is None or give is None:
        return None
    try:
        out = await asyncio.wait_for(give(role, query), timeout=PROVIDER_TIMEOUT)
    except Exception as exc:  # one panel failing must not take the page down; it says so instead
        log.warning("panel data failed", panel=name, error=type(exc).__name__)
        return {"unavailable": f"{type(exc).__name__} while reading the {name} role's state"}
    if out is not None and "receivers" in out:
        wanted = set(out["receivers"])
        out["delivery"] = [row for row in samples.delivery(process.registry) if row["sink"] in wanted]
    return out
