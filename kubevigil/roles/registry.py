"""The role table: a role's config section plugs in here and nowhere else."""

from __future__ import annotations

from kubevigil.roles.role import RoleSpec

# Roles are added here as they land; sections for roles not in this table are
# rejected at load time with a reason (see config/models.py).
ROLES: dict[str, RoleSpec] = {}

PLANNED_ROLES: tuple[str, ...] = ("status", "events", "checks", "scrape", "nurse")
