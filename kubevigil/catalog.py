"""What this kubevigil has — its roles, its sinks, the delivery params model — handed to the config layer.

config never imports the tables (they sit above it); the command line, the demo and the runtime load configs
through this module. The tables are read at each call, so a test may swap a table for one call.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from kubevigil import config
from kubevigil.delivery.settings import DeliveryParams
from kubevigil.roles import registry as role_table
from kubevigil.roles.rbac import OWN_NAMESPACE, Access, union
from kubevigil.sinks import registry as sink_table

__all__ = ["json_schema", "load", "load_defaults", "rbac", "tables"]


def tables() -> config.Tables:
    """The installed role and sink tables and the delivery params model, as the config loader takes them."""
    return config.Tables(
        roles=role_table.ROLES,
        sinks=sink_table.SINKS,
        delivery=DeliveryParams,
        planned_roles=role_table.PLANNED_ROLES,
    )


def load(path: Path, *, format: str | None = None, environ: Mapping[str, str] = os.environ) -> config.Loaded:
    """`config.load` with the installed tables; raises ConfigError listing every problem."""
    return config.load(path, tables(), format=format, environ=environ)


def load_defaults(roles: Sequence[str], *, environ: Mapping[str, str] = os.environ) -> config.Loaded:
    """The config for running `roles` with no config file (each role's defaults or its tool's variables)."""
    return config.load_defaults(roles, tables(), environ)


def json_schema() -> dict[str, Any]:
    """JSON Schema of the native config for the installed roles and sinks."""
    return config.json_schema(tables())


def rbac(settings: config.Settings, roles: Sequence[str]) -> Access:
    """Everything a process running `roles` with `settings` does on the API server: each role's rules and, when it
    elects, its Lease."""
    from kubevigil.kube.leader import rules as lease_rules

    parts = [role_table.ROLES[name].rbac(settings.role(name)) for name in roles]
    election = settings.leader_election
    if election.enabled and any(role_table.ROLES[name].leader for name in roles):
        parts.append(Access(namespaced={election.namespace or OWN_NAMESPACE: lease_rules(election.lease_name)}))
    return union(parts)
