"""Role `checks`: the HealthCheck controller (active-monitor's CRD and kubevigil's), with remedies and metrics.

This module stays light (the config model only): the controller is imported when the role is built.
"""

from __future__ import annotations

import argparse
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, cast

from kubevigil.roles.checks.config import ChecksSection

if TYPE_CHECKING:
    from kubevigil.roles.role import Role, RoleContext

leader = True  # one writer of HealthCheck status: runs only on the replica holding the Lease


def build(section: ChecksSection, ctx: RoleContext) -> Role:
    """Build the role; imported late so loading a config does not pull in the controller."""
    from kubevigil.roles.checks.controller import ChecksRole

    return ChecksRole(section, ctx)


def defaults() -> dict[str, Any]:
    """The section `kubevigil run --role checks` uses with no config file: every namespace, default limits."""
    return {}


def rbac(section: ChecksSection) -> list[dict[str, Any]]:
    """The rules of kubevigil's own ClusterRole for this section (no wildcard)."""
    from kubevigil.roles.checks.access import rules

    return rules(section)


def add_commands(subparsers: Any) -> None:
    """`kubevigil checks crd`: print the two HealthCheck CRDs (what deploy/crds/ holds)."""
    checks = subparsers.add_parser("checks", help="HealthCheck controller commands")
    sub = checks.add_subparsers(dest="checks_command", required=True)
    crd = sub.add_parser("crd", help="print the HealthCheck CRDs (activemonitor.keikoproj.io and kubevigil.io)")
    crd.set_defaults(func=_print_crds)


def _print_crds(_: argparse.Namespace) -> int:
    from kubevigil.roles.checks.crd import crds_yaml

    print(crds_yaml(), end="")
    return 0


def demo_section(sink_names: dict[str, str] | None = None) -> dict[str, Any]:
    """The demo's `checks:` section (see kubevigil/roles/checks/demo.py for the objects it seeds)."""
    from kubevigil.roles.checks.demo import section

    demo: dict[str, Any] = section(sink_names or {})
    return demo


async def panel(role: Role, query: Mapping[str, str]) -> dict[str, Any] | None:
    """The role's panel data for the web page (roles/checks/panel.py), imported late like the role itself."""
    from kubevigil.roles.checks.controller import ChecksRole
    from kubevigil.roles.checks.panel import panel as data

    return await data(cast(ChecksRole, role), query)


__all__ = ["ChecksSection", "add_commands", "build", "defaults", "demo_section", "leader", "panel", "rbac"]
