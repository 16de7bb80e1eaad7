"""Role `status`: the cluster heartbeat (1 when every watched target is healthy, 0 when one is not)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from kubevigil.roles.status.config import StatusSection

if TYPE_CHECKING:
    from kubevigil.roles.role import Role, RoleContext


def build(section: StatusSection, ctx: RoleContext) -> Role:
    """Build the role; imported late so loading a config does not pull in the Kubernetes client."""
    from kubevigil.roles.status.role import StatusRole

    return StatusRole(section, ctx)


__all__ = ["StatusSection", "build"]
