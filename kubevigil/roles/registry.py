"""The role table: a role's `SPEC` (roles/<name>/__init__.py) plugs in here and nowhere else."""

from __future__ import annotations

from typing import Any

from kubevigil.roles import checks, events, nurse, scrape, status
from kubevigil.roles.role import RoleSpec

# Each spec is typed by its own section; the table holds them side by side. Sections for roles not in this table
# are rejected at load time with a reason (see config/settings.py).
ROLES: dict[str, RoleSpec[Any]] = {spec.name: spec for spec in (
    status.SPEC,
    events.SPEC,
    checks.SPEC,
    scrape.SPEC,
    nurse.SPEC,
)}

PLANNED_ROLES: tuple[str, ...] = ("status", "events", "checks", "scrape", "nurse")
