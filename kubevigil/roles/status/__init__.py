"""Role `status`: the cluster heartbeat (1 when every watched target is healthy, 0 when one is not)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, cast

from kubevigil.roles.status.config import StatusSection

if TYPE_CHECKING:
    from kubevigil.roles.role import Role, RoleContext


def build(section: StatusSection, ctx: RoleContext) -> Role:
    """Build the role; imported late so loading a config does not pull in the Kubernetes client."""
    from kubevigil.roles.status.role import StatusRole

    return StatusRole(section, ctx)


async def panel(role: Role, query: Mapping[str, str]) -> dict[str, Any] | None:
    """The role's panel data for the web page (roles/status/panel.py), imported late like the role itself."""
    from kubevigil.roles.status.panel import panel as data
    from kubevigil.roles.status.role import StatusRole

    return await data(cast(StatusRole, role), query)


__all__ = ["StatusSection", "build", "panel"]
