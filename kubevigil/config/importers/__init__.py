"""The config formats kubevigil reads: its own (`native`) and the replaced tools' files, translated at load time.

An importer is a module with `detect(doc) -> bool`, `translate(doc, source) -> (native dict, warnings)` and,
optionally, `origin(native_loc, doc) -> original_loc | None`. See docs/configuration.md, "Writing an importer".

Tools configured by environment variables instead of a file have an environment importer: a module with
`from_environment(environ) -> (native dict, warnings)` and, optionally, `origin(native_loc) -> (variable,) | None`.
A role names its tool's environment importer in the role table (`FromEnvironment`); `kubevigil run --role X` with
no config file reads the variables through it (config/defaults.py).
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from kubevigil.config.issues import ConfigError, ConfigIssue, Loc

# Checked in this order; `native` is last because it accepts any shape.
MODULES: dict[str, str] = {
    "kubestatus2cloudwatch": "kubevigil.config.importers.kubestatus2cloudwatch",
    "event-exporter": "kubevigil.config.importers.event_exporter",
    "native": "kubevigil.config.importers.native",
}


ENVIRONMENT_MODULES: dict[str, str] = {
    "cni-metrics-helper": "kubevigil.config.importers.cni_metrics_helper",
    "kubenurse": "kubevigil.config.importers.kubenurse",
}


class EnvironmentImporter(Protocol):
    def from_environment(self, environ: Mapping[str, str]) -> tuple[dict[str, Any], list[str]]:
        """The native config the variables describe, and warnings; ConfigError naming each bad variable."""


def environment_importer(name: str) -> EnvironmentImporter:
    """The environment importer called `name` (a key of ENVIRONMENT_MODULES)."""
    module: EnvironmentImporter = importlib.import_module(ENVIRONMENT_MODULES[name])  # a module is one
    return module


@runtime_checkable
class Importer(Protocol):
    def detect(self, doc: dict[str, Any]) -> bool:
        """True when `doc` (the parsed file) has this format's shape."""

    def translate(self, doc: dict[str, Any], source: Path) -> tuple[dict[str, Any], list[str]]:
        """The native-shape config for `doc`, and warnings for values kubevigil treats differently."""


def table() -> dict[str, Importer]:
    """Every importer whose module exists, by format name (a module not written yet is simply absent)."""
    found: dict[str, Importer] = {}
    for name, module_name in MODULES.items():
        try:
            module: Any = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name != module_name:
                raise
            continue
        found[name] = module
    return found


def names() -> list[str]:
    """The format names `--format` accepts."""
    return list(table())


def detect_format(doc: Any, native_keys: Iterable[str] = ()) -> str:
    """The one format whose keys `doc` has (`native` when none does); ConfigError when several formats claim it.

    `native_keys` are the native format's top-level keys; a foreign importer's `detect(doc)` looks for keys only
    its tool uses, so a partial file (event-exporter's `kubeQPS: 100` alone) is still recognised."""
    if not isinstance(doc, dict):
        return "native"
    foreign = {name: importer for name, importer in table().items() if name != "native"}
    claims = [name for name, importer in foreign.items() if importer.detect(doc)]
    # a key the native format shares with a tool (`logging`) says nothing about which one this is
    shared = {key for importer in foreign.values() for key in getattr(importer, "TOP_KEYS", ())}
    native = [key for key in doc if key in set(native_keys) - shared]
    if native:
        claims.append("native")
    if len(claims) == 1:
        return claims[0]
    if not claims:
        return "native"
    raise ConfigError([ConfigIssue(None, None, "", f"cannot tell which format this file is: it has keys of {' and '.join(claims)} "
                                   f"(formats considered: {', '.join(table())}); choose one with --format "
                                   f"{'|'.join(claims)}")])


def origin_of(importer: Importer, loc: Loc, doc: dict[str, Any]) -> Loc | None:
    """The original file's key path for a native key path, when the importer can say."""
    origin = getattr(importer, "origin", None)
    return origin(loc, doc) if origin is not None else None
