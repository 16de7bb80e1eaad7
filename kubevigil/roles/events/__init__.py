"""Role `events`: durable Kubernetes Event export with event-exporter's routing (kubernetes-event-exporter)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from kubevigil.roles.events.config import EventsConfig, demo_section

if TYPE_CHECKING:
    from kubevigil.roles.role import Role, RoleContext


def build(section: EventsConfig, ctx: RoleContext) -> Role:
    """Build the role; imported late so loading a config does not pull in the Kubernetes client."""
    from kubevigil.roles.events.role import EventsRole

    return EventsRole(section, ctx)


__all__ = ["EventsConfig", "build", "demo_section"]
