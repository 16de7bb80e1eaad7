"""Role `events`: durable Kubernetes Event export with event-exporter's routing (kubernetes-event-exporter).

This module stays light (the config model and the role's table line): the role is imported when it is built.
"""

from __future__ import annotations

from kubevigil.roles.events.config import EventsConfig
from kubevigil.roles.events.demo import DEMO
from kubevigil.roles.events.rbac import api_access
from kubevigil.roles.role import Role, RoleContext, RoleSpec, panel_in


def build(section: EventsConfig, ctx: RoleContext) -> Role:
    """Build the role; imported late so loading a config does not pull in the Kubernetes client."""
    from kubevigil.roles.events.role import EventsRole

    return EventsRole(section, ctx)


SPEC: RoleSpec[EventsConfig] = RoleSpec(
    name="events",
    summary="Kubernetes Events, routed to receivers (kubernetes-event-exporter)",
    config=EventsConfig,
    build=build,
    leader=True,  # one exporter: two would send every Event twice
    rbac=api_access,
    demo=DEMO,
    panel=panel_in("kubevigil.roles.events.panel"),
)

__all__ = ["SPEC", "EventsConfig", "build"]
