"""Role `events`: durable Kubernetes Event export with event-exporter's routing (kubernetes-event-exporter).

This module stays light (the role's table line): its config model is imported when a config has its section, the
role when it is built.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from kubevigil.roles.events.demo import DEMO
from kubevigil.roles.events.rbac import api_access
from kubevigil.roles.role import Role, RoleContext, RoleSpec, panel_in

if TYPE_CHECKING:
    from kubevigil.roles.events.config import EventsConfig


def import_config() -> type[EventsConfig]:
    from kubevigil.roles.events.config import EventsConfig

    return EventsConfig


def build(section: EventsConfig, ctx: RoleContext) -> Role:
    """Build the role; imported late so loading a config does not pull in the Kubernetes client."""
    from kubevigil.roles.events.role import EventsRole

    return EventsRole(section, ctx)


SPEC: RoleSpec[EventsConfig] = RoleSpec(
    name="events",
    summary="Kubernetes Events, routed to receivers (kubernetes-event-exporter)",
    import_config=import_config,
    build=build,
    leader=True,  # one exporter: two would send every Event twice
    rbac=api_access,
    demo=DEMO,
    panel=panel_in("kubevigil.roles.events.panel"),
)

__all__ = ["SPEC", "build", "import_config"]
