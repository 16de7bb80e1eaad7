"""Role `nurse`: in-cluster network probing on every node (kubenurse, with goldpinger's cluster matrix)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, cast

from kubevigil.roles.nurse.config import NurseSection, demo_section
from kubevigil.roles.nurse.rbac import pod_rules_namespaced, rbac

if TYPE_CHECKING:
    from kubevigil.roles.role import Role, RoleContext

leader = False  # a DaemonSet: every replica checks from its own node


def build(section: NurseSection, ctx: RoleContext) -> Role:
    """Build the role; imported late so loading a config does not pull in aiohttp's client or dnspython."""
    from kubevigil.roles.nurse.role import NurseRole

    return NurseRole(section, ctx)


async def panel(role: Role, query: Mapping[str, str]) -> dict[str, Any] | None:
    """The role's panel data for the web page (roles/nurse/panel.py), imported late like the role itself."""
    from kubevigil.roles.nurse.panel import panel as data
    from kubevigil.roles.nurse.role import NurseRole

    return await data(cast(NurseRole, role), query)


__all__ = ["NurseSection", "build", "demo_section", "leader", "panel", "pod_rules_namespaced", "rbac"]
