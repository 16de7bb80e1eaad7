"""Role `checks`: the HealthCheck controller (active-monitor's CRD and kubevigil's), with remedies and metrics.

This module stays light (the role's table line): its config model is imported when a config has its section, the
controller when the role is built.
"""

from __future__ import annotations

import argparse
from contextlib import AbstractAsyncContextManager
from typing import TYPE_CHECKING, Any

from kubevigil.config.tables import DefaultSection
from kubevigil.roles.rbac import Access
from kubevigil.roles.role import (
    CommandTools,
    DemoEnvironment,
    DemoSinks,
    Role,
    RoleContext,
    RoleDemo,
    RoleSpec,
    Subcommands,
    panel_in,
)

if TYPE_CHECKING:
    from kubevigil.roles.checks.config import ChecksSection


def import_config() -> type[ChecksSection]:
    from kubevigil.roles.checks.config import ChecksSection

    return ChecksSection


def build(section: ChecksSection, ctx: RoleContext) -> Role:
    """Build the role; imported late so loading a config does not pull in the controller."""
    from kubevigil.roles.checks.controller import ChecksRole

    return ChecksRole(section, ctx)


def api_access(section: ChecksSection) -> Access:
    """kubevigil's own ClusterRole for this section (no wildcard, no escalate or bind), and a Role reading the API
    token's Secret when one is configured."""
    from kubevigil.roles.checks.access import rules, token_rules

    return Access(cluster=rules(section), namespaced=token_rules(section))


def add_commands(subcommands: Subcommands, tools: CommandTools) -> None:
    """`kubevigil checks crd`: print the two HealthCheck CRDs (what deploy/crds/ holds)."""
    checks = subcommands.add_parser("checks", help="HealthCheck controller commands")
    sub = checks.add_subparsers(dest="checks_command", required=True)
    crd = sub.add_parser("crd", help="print the HealthCheck CRDs (activemonitor.keikoproj.io and kubevigil.io)")
    crd.set_defaults(func=_print_crds)


def _print_crds(_: argparse.Namespace) -> int:
    from kubevigil.roles.checks.crd import crds_yaml

    print(crds_yaml(), end="")
    return 0


def demo_section(sinks: DemoSinks) -> dict[str, Any]:
    """The demo's `checks:` section (see kubevigil/roles/checks/demo.py for the objects it seeds)."""
    from kubevigil.roles.checks.demo import section

    demo: dict[str, Any] = section({"records": sinks.records, "metrics": sinks.metrics})
    return demo


def demo_setup(env: DemoEnvironment) -> AbstractAsyncContextManager[object]:
    """The CRDs, a namespace, a Deployment and one check of each runner the emulator can play."""
    from kubevigil.roles.checks.demo import setup

    return setup(env)


SPEC: RoleSpec[ChecksSection] = RoleSpec(
    name="checks",
    summary="HealthCheck controller with remedies (active-monitor)",
    import_config=import_config,
    build=build,
    leader=True,  # one writer of HealthCheck status
    rbac=api_access,
    demo=RoleDemo(section=demo_section, setup=demo_setup,
                  links=(("checks", "{base}/api/checks  (KUBECONFIG={kubeconfig} kubectl get kubevigil -A)"),
                          ("run now", "the token in {out}/token (the page's API token field)"))),
    commands=add_commands,
    defaults=DefaultSection({}),  # `kubevigil run --role checks` with no file: every namespace, default limits
    panel=panel_in("kubevigil.roles.checks.panel"),
)

__all__ = ["SPEC", "add_commands", "api_access", "build", "import_config"]
