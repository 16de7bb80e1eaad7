"""Role `status`: the cluster heartbeat (1 when every watched target is healthy, 0 when one is not).

This module stays light (the role's table line): its config model is imported when a config has its section, the
role when it is built.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from kubevigil.roles.rbac import Access
from kubevigil.roles.role import DemoSinks, Role, RoleContext, RoleDemo, RoleSpec, panel_in
from kubevigil.roles.status.commands import add_commands

if TYPE_CHECKING:
    from kubevigil.roles.status.config import StatusSection


def import_config() -> type[StatusSection]:
    from kubevigil.roles.status.config import StatusSection

    return StatusSection


def build(section: StatusSection, ctx: RoleContext) -> Role:
    """Build the role; imported late so loading a config does not pull in the Kubernetes client."""
    from kubevigil.roles.status.role import StatusRole

    return StatusRole(section, ctx)


def api_access(section: StatusSection) -> Access:
    """list + watch on exactly the kinds the targets use (the role never GETs or writes)."""
    from kubevigil.roles.status.rbac import rules

    return Access(cluster=rules(section))


def demo_section(sinks: DemoSinks) -> dict[str, Any]:
    from kubevigil.roles.status.demo import demo_section as section

    return section([sinks.metrics, sinks.prometheus])


SPEC: RoleSpec[StatusSection] = RoleSpec(
    name="status",
    summary="Cluster heartbeat to CloudWatch (kubestatus2cloudwatch)",
    import_config=import_config,
    build=build,
    # Every replica publishes: a heartbeat is an idempotent sample, and a second replica keeps it going while the
    # first is down (the alarm takes the Minimum, so one replica seeing a problem is enough).
    leader=False,
    rbac=api_access,
    demo=RoleDemo(section=demo_section, links=(("heartbeat", "{base}/status"),)),
    commands=add_commands,
    panel=panel_in("kubevigil.roles.status.panel"),
)

__all__ = ["SPEC", "api_access", "build", "import_config"]
