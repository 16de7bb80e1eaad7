"""Role `events`: durable Kubernetes Event export with event-exporter's routing (kubernetes-event-exporter)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, cast

from kubevigil.roles.events.config import EventsConfig, demo_section

if TYPE_CHECKING:
    from kubevigil.roles.role import Role, RoleContext


def build(section: EventsConfig, ctx: RoleContext) -> Role:
    """Build the role; imported late so loading a config does not pull in the Kubernetes client."""
    from kubevigil.roles.events.role import EventsRole

    return EventsRole(section, ctx)


async def panel(role: Role, query: Mapping[str, str]) -> dict[str, Any] | None:
    """The role's panel data for the web page (roles/events/panel.py), imported late like the role itself."""
    from kubevigil.roles.events.panel import panel as data
    from kubevigil.roles.events.role import EventsRole

    return await data(cast(EventsRole, role), query)


__all__ = ["EventsConfig", "build", "demo_section", "panel"]
