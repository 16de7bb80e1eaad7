"""Which panels the page has and where their data comes from: each role's `RoleSpec.panel`, plus the process."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

import structlog

from kubevigil.roles.registry import ROLES
from kubevigil.roles.role import PanelProvider
from kubevigil.web import samples
from kubevigil.web.process import Process, process_panel

log = structlog.get_logger("kubevigil.web")

TITLES = {"status": "Heartbeat", "events": "Events", "checks": "Checks", "nurse": "Network", "scrape": "Capacity",
          "process": "Process"}
PROCESS = "process"
PROVIDER_TIMEOUT = 5.0  # the nurse asks every other nurse (2 s timeout each, in parallel); nothing else waits


def provider(name: str) -> PanelProvider | None:
    spec = ROLES.get(name)
    return spec.panel if spec is not None else None


def names(process: Process) -> list[str]:
    """The page's panels in the role table's order: each running role whose spec has a panel, then the process."""
    return [name for name in ROLES if name in process.roles and provider(name) is not None] + [PROCESS]


def title(name: str) -> str:
    return TITLES.get(name, name.capitalize())


async def data(process: Process, name: str, query: Mapping[str, str]) -> dict[str, Any] | None:
    """The panel's data; None when its role has nothing to show (not running here, no results yet)."""
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
