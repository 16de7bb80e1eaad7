"""Role `nurse`: in-cluster network probing on every node (kubenurse, with goldpinger's cluster matrix).

This module stays light (the role's table line): its config model is imported when a config has its section, the
role when it is built.
"""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager
from typing import TYPE_CHECKING, Any

from kubevigil.config.tables import FromEnvironment
from kubevigil.roles.rbac import OWN_NAMESPACE, Access
from kubevigil.roles.role import DemoEnvironment, DemoSinks, Role, RoleContext, RoleDemo, RoleSpec, panel_in

if TYPE_CHECKING:
    from kubevigil.roles.nurse.config import NurseSection


def import_config() -> type[NurseSection]:
    from kubevigil.roles.nurse.config import NurseSection

    return NurseSection


def build(section: NurseSection, ctx: RoleContext) -> Role:
    """Build the role; imported late so loading a config does not pull in aiohttp's client or dnspython."""
    from kubevigil.roles.nurse.role import NurseRole

    return NurseRole(section, ctx)


def api_access(section: NurseSection) -> Access:
    """list + watch on nodes (cluster-wide) and on the nurse pods: in their namespace, or everywhere with '*'."""
    from kubevigil.roles.nurse.config import ALL_NAMESPACES
    from kubevigil.roles.nurse.rbac import pod_rules_namespaced, rbac

    namespace = section.neighbours.namespace
    pods = pod_rules_namespaced(section)
    return Access(cluster=rbac(section),
                  namespaced={namespace or OWN_NAMESPACE: pods} if pods and namespace != ALL_NAMESPACES else {})


def _demo_section(sinks: DemoSinks) -> dict[str, Any]:
    from kubevigil.roles.nurse.config import demo_section

    return demo_section([sinks.prometheus], [sinks.records])


def demo_setup(env: DemoEnvironment) -> AbstractAsyncContextManager[object]:
    """A kubenurse DaemonSet on the emulator with a nurse per node on its pod's loopback address."""
    from kubevigil.roles.nurse.demo import demo_nurses

    return demo_nurses(env)


SPEC: RoleSpec[NurseSection] = RoleSpec(
    name="nurse",
    summary="Network probing from every node: API server, Service, Ingress, neighbours (kubenurse)",
    import_config=import_config,
    build=build,
    leader=False,  # a DaemonSet: every replica checks from its own node
    rbac=api_access,
    demo=RoleDemo(section=_demo_section, setup=demo_setup, links=(("network", "{base}/api/matrix/all"),)),
    # kubenurse has no file: its DaemonSet's variables configure `kubevigil run --role nurse`
    defaults=FromEnvironment("kubenurse"),
    panel=panel_in("kubevigil.roles.nurse.panel"),
)

__all__ = ["SPEC", "api_access", "build", "import_config"]
