"""The config of `kubevigil run --role X` (and `check-config`, `rbac`) when no config file exists.

Each role says in the role table what it runs with then (`Tables.roles[X].defaults`): a fixed section
(`DefaultSection`, e.g. `checks`: every namespace, default limits) or its replaced tool's environment variables,
read by that tool's environment importer (`FromEnvironment`: cni-metrics-helper's for `scrape`, kubenurse's for
`nurse`), so the original's Deployment or DaemonSet runs unchanged but for the image and `args`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from kubevigil.config import importers
from kubevigil.config.issues import ConfigError, ConfigIssue, Loc, dotted
from kubevigil.config.loader import Loaded, with_environment_defaults
from kubevigil.config.messages import describe_errors
from kubevigil.config.references import check_sink_packages, check_sink_refs
from kubevigil.config.settings import settings_model_for
from kubevigil.config.tables import DefaultSection, Tables

SOURCE = Path("<environment>")

Origin = Callable[[Loc], Loc | None]


def load_defaults(roles: Sequence[str], tables: Tables, environ: Mapping[str, str]) -> Loaded:
    """The validated config for running `roles` without a file; ConfigError naming each problem (a role that needs
    a file, a bad variable, two roles' defaults that disagree)."""
    parts: list[tuple[dict[str, Any], Origin | None]] = []
    warnings: list[str] = []
    formats: list[str] = []
    issues: list[ConfigIssue] = []
    for role in dict.fromkeys(roles):
        spec = tables.roles.get(role)
        defaults = spec.defaults if spec is not None else None
        if spec is None:
            issues.append(ConfigIssue(None, None, "--role", f"no role {role!r}; roles: {', '.join(tables.roles)}"))
        elif defaults is None:
            issues.append(ConfigIssue(None, None, "--role", f"{role} has no defaults: it needs a config file with a "
                                                            f"`{role}:` section (see `kubevigil check-config`)"))
        elif isinstance(defaults, DefaultSection):
            parts.append(({role: dict(defaults.section)}, None))
            formats.append(f"{role} defaults")
        else:
            importer = importers.environment_importer(defaults.importer)
            try:
                native, notes = importer.from_environment(environ)
            except ConfigError as exc:
                issues += exc.issues
                continue
            parts.append((native, getattr(importer, "origin", None)))
            warnings += notes
            formats.append(defaults.importer)
    if issues:
        raise ConfigError(issues)
    return _validated(parts, tables, environ, " + ".join(formats), warnings)


def load_environment(importer: str, environ: Mapping[str, str], tables: Tables) -> Loaded:
    """One environment importer's translation, validated (errors name the variable behind each bad key)."""
    module = importers.environment_importer(importer)
    native, warnings = module.from_environment(environ)
    return _validated([(native, getattr(module, "origin", None))], tables, environ, importer, warnings)


def _validated(parts: list[tuple[dict[str, Any], Origin | None]], tables: Tables, environ: Mapping[str, str],
               name: str, warnings: list[str]) -> Loaded:
    native: dict[str, Any] = {}
    conflicts: list[tuple[Loc, str]] = []
    for part, _ in parts:
        _merge(native, part, (), conflicts)
    origins = [origin for _, origin in parts if origin is not None]
    native = with_environment_defaults(native, environ)
    model = settings_model_for(tables, native)
    problems: list[tuple[Loc, str]] = []
    settings = None
    try:
        settings = model.model_validate(native)
    except ValidationError as exc:
        problems += describe_errors(exc.errors(), model, native)
    problems += check_sink_refs(native, tables) + check_sink_packages(native, tables)
    if conflicts or problems or settings is None:
        raise ConfigError([ConfigIssue(None, None, dotted(loc), message, loc) for loc, message in conflicts]
                          + [_issue(loc, message, origins) for loc, message in problems])
    return Loaded(settings=settings, source=SOURCE, format=name, warnings=warnings)


def _merge(into: dict[str, Any], part: Mapping[str, Any], loc: Loc, conflicts: list[tuple[Loc, str]]) -> None:
    """Two roles' defaults in one config: mappings merge, anything else must agree."""
    for key, value in part.items():
        if key not in into:
            into[key] = value
        elif isinstance(into[key], dict) and isinstance(value, Mapping):
            into[key] = dict(into[key])
            _merge(into[key], value, (*loc, key), conflicts)
        elif into[key] != value:
            conflicts.append(((*loc, key), f"the roles' defaults disagree ({into[key]!r} and {value!r}): run them "
                                           "with a config file"))


def _issue(loc: Loc, message: str, origins: list[Origin]) -> ConfigIssue:
    where = next((found for origin in origins if (found := origin(loc))), loc)
    return ConfigIssue(None, None, dotted(where), message, where)
