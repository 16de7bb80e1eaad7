"""Which panels the page has and where their data comes from: each role's `RoleSpec.panel`, plus the process."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

import structlog

from kubevigil.core.secrets import scrub_value
from kubevigil.roles.registry import ROLES
from kubevigil.roles.role import PanelProvider
from kubevigil.web import samples
from kubevigil.web.process import Process, process_panel

log = structlog.get_logger("kubevigil.web")

# The page's layout: panels in this order (the two half-width pairs side by side at 1280 px), a role not named here
# after them in the role table's order; each panel's title.
TITLES = {"status": "Heartbeat", "checks": "Checks", "events": "Events", "scrape": "Capacity", "nurse": "Network",
          "process": "Process"}
PROCESS = "process"
PROVIDER_TIMEOUT = 5.0  # the nurse asks every other nurse (2 s timeout each, in parallel); nothing else waits


def provider(name: str) -> PanelProvider | None:
    spec = ROLES.get(name)
    return spec.panel if spec is not None else None


def names(process: Process) -> list[str]:
    """The page's panels in layout order: each running role whose spec has a panel, then the process."""
    shown = [name for name in ROLES if name in process.roles and provider(name) is not None]
    place = {name: i for i, name in enumerate(TITLES)}
    return sorted(shown, key=lambda name: place.get(name, len(place))) + [PROCESS]


def title(name: str) -> str:
    return TITLES.get(name, name.capitalize())


async def data(process: Process, name: str, query: Mapping[str, str]) -> dict[str, Any] | None:
    """The panel's data, every string scrubbed of secrets (before the templates escape it, so an escaped secret is
    masked too); None when its role has nothing to show (not running here, no results yet)."""
    found = await _gather(process, name, query)
    return None if found is None else dict(scrub_value(found))


async def _gather(process: Process, name: str, query: Mapping[str, str]) -> dict[str, Any] | None:
    if name == PROCESS:
        return process_panel(process)
    role, give = process.roles.get(name), provider(name)
    if role is None or give is None:
        return None
    if process.standby(name):  # its state here is from an earlier term or none: say who has the live one
        return {"unavailable": process.readiness()[f"role:{name}"].detail}
    try:
        async with asyncio.timeout(PROVIDER_TIMEOUT):
            out = await give(role, query)
    except Exception as exc:  # one panel failing must not take the page down; it says so instead
        log.warning("panel data failed", panel=name, error=type(exc).__name__)
        return {"unavailable": f"{type(exc).__name__} while reading the {name} role's state"}
    if out is not None and "receivers" in out:
        wanted = set(out["receivers"])
        out["delivery"] = [row for row in samples.delivery(process.registry) if row["sink"] in wanted]
    return out
