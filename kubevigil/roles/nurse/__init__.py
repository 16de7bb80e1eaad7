"""Role `nurse`: in-cluster network probing on every node (kubenurse, with goldpinger's cluster matrix)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from kubevigil.roles.nurse.config import NurseSection, demo_section
from kubevigil.roles.nurse.rbac import pod_rules_namespaced, rbac

if TYPE_CHECKING:
    from kubevigil.roles.role import Role, RoleContext

leader = False  # a DaemonSet: every replica checks from its own node


def build(section: NurseSection, ctx: RoleContext) -> Role:
    """Build the role; imported late so loading a config does not pull in aiohttp's client or dnspython."""
    from kubevigil.roles.nurse.role import NurseRole

    return NurseRole(section, ctx)


__all__ = ["NurseSection", "build", "demo_section", "leader", "pod_rules_namespaced", "rbac"]
