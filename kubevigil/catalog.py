"""What this kubevigil has — its roles, its sinks, the delivery params model — handed to the config layer.

config never imports the tables (they sit above it); the command line, the demo and the runtime load configs
through this module. The tables are read at each call, so a test may swap a table for one call.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from kubevigil import config
from kubevigil.delivery.settings import DeliveryParams
from kubevigil.roles import registry as role_table
from kubevigil.sinks import registry as sink_table

__all__ = ["json_schema", "load", "tables"]


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


def json_schema() -> dict[str, Any]:
    """JSON Schema of the native config for the installed roles and sinks."""
    return config.json_schema(tables())
