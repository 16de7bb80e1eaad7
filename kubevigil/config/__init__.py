"""Configuration: one YAML file (native or a replaced tool's format) -> validated Settings, or every problem at once."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from kubevigil.config.issues import ConfigError, ConfigIssue
    from kubevigil.config.loader import Loaded, find_config_path, load
    from kubevigil.config.settings import (
        ClusterSettings,
        LoggingSettings,
        ServerSettings,
        Settings,
        SinkEntry,
        settings_model,
    )
    from kubevigil.config.views import json_schema, normalized

# Imported on first use: sink and role modules import `kubevigil.core.model`, and the loader imports their
# tables, so an eager import here would be circular.
_HOMES = {
    "ConfigError": "issues",
    "ConfigIssue": "issues",
    "Loaded": "loader",
    "find_config_path": "loader",
    "load": "loader",
    "ClusterSettings": "settings",
    "LoggingSettings": "settings",
    "ServerSettings": "settings",
    "Settings": "settings",
    "SinkEntry": "settings",
    "settings_model": "settings",
    "json_schema": "views",
    "normalized": "views",
}

__all__ = sorted(_HOMES)


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'kubevigil.config' has no attribute {name!r}")
    return getattr(importlib.import_module(f"kubevigil.config.{home}"), name)
