"""Configuration: one YAML file (native or a replaced tool's format) -> validated Settings, or every problem at once.

The loader is given the role and sink tables (`Tables`); it never imports a role, a sink or delivery.
"""

from kubevigil.config.defaults import load_defaults
from kubevigil.config.issues import ConfigError, ConfigIssue
from kubevigil.config.loader import Loaded, MissingConfig, find_config_path, load
from kubevigil.config.settings import (
    ClusterSettings,
    LeaderElectionSettings,
    LoggingSettings,
    ServerSettings,
    Settings,
    SinkEntry,
    WebSettings,
    settings_model,
    settings_model_for,
)
from kubevigil.config.tables import Defaults, DefaultSection, FromEnvironment, RoleType, SinkType, Tables
from kubevigil.config.views import json_schema, normalized
from kubevigil.core.model import SecretKeyRef

__all__ = [
    "ClusterSettings",
    "ConfigError",
    "ConfigIssue",
    "DefaultSection",
    "Defaults",
    "FromEnvironment",
    "LeaderElectionSettings",
    "Loaded",
    "LoggingSettings",
    "MissingConfig",
    "RoleType",
    "SecretKeyRef",
    "ServerSettings",
    "Settings",
    "SinkEntry",
    "SinkType",
    "Tables",
    "WebSettings",
    "find_config_path",
    "json_schema",
    "load",
    "load_defaults",
    "normalized",
    "settings_model",
    "settings_model_for",
]
