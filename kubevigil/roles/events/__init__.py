"""Role `events`: durable Kubernetes Event export with event-exporter's routing (kubernetes-event-exporter).

This module stays light (the config model and the role's table line): the role is imported when it is built.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, cast

from kubevigil.roles.events.config import EventsConfig
from kubevigil.roles.events.demo import DEMO
from kubevigil.roles.events.rbac import api_access
from kubevigil.roles.role import Role, RoleContext, RoleSpec


def build(section: EventsConfig, ctx: RoleContext) -> Role:
    """Build the role; imported late so loading a config does not pull in the Kubernetes client."""
    from kubevigil.roles.events.role import EventsRole

    return EventsRole(section, ctx)


async def panel(role: Role, query: Mapping[str, str]) -> dict[str, Any] | None:
    """The role's panel data for the web page (roles/events/panel.py), imported late like the role itself."""
    from kubevigil.roles.events.panel import panel as data
    from kubevigil.roles.events.role import EventsRole

    return await data(cast(EventsRole, role), query)


SPEC: RoleSpec[EventsConfig] = RoleSpec(
    name="events",
    summary="Kubernetes Events, routed to receivers (kubernetes-event-exporter)",
    config=EventsConfig,
    build=build,
    leader=True,  # one exporter: two would send every Event twice
    rbac=api_access,
    demo=DEMO,
    panel=panel,
)

__all__ = ["SPEC", "EventsConfig", "build"]
