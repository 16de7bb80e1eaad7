"""kubernetes-event-exporter's config file, translated to a native `events:` section and one sink per receiver.

Go templates in receiver params become Jinja (`gotemplate.py`); each receiver's keys are renamed by the sink's own
`kubevigil/sinks/<name>/event_exporter.py`. What kubevigil treats differently produces a warning saying how.
"""

from __future__ import annotations

import difflib
import importlib
import re
from pathlib import Path
from typing import Any

from kubevigil.config.importers import gotemplate
from kubevigil.config.importers.gotemplate import GoTemplateError
from kubevigil.config.issues import ConfigError, ConfigIssue, Loc
from kubevigil.roles.events.config import REGEX_FIELDS, YAML_NAMES, glob_hint

TOP_KEYS = ("logLevel", "logFormat", "throttlePeriod", "maxEventAgeSeconds", "clusterName", "namespace",
            "leaderElection", "route", "receivers", "kubeQPS", "kubeBurst", "kubeconfig", "metricsNamePrefix")
ROUTE_KEYS = ("drop", "match", "routes")
RULE_KEYS = tuple(YAML_NAMES.get(f, f) for f in REGEX_FIELDS) + ("labels", "annotations", "minCount", "receiver")
LOG_LEVELS = {"trace": "debug", "debug": "debug", "info": "info", "warn": "warning", "warning": "warning",
              "error": "error", "fatal": "error", "panic": "error", "disabled": "error"}
LOG_FORMATS = {"json": "json", "pretty": "console", "console": "console"}
DEFAULT_MAX_AGE = 5  # event-exporter's default


def detect(doc: dict[str, Any]) -> bool:
    """event-exporter files have `receivers` (a list) and `route` at the top level."""
    return isinstance(doc, dict) and isinstance(doc.get("receivers"), list) and "route" in doc


def origin(loc: Loc, doc: dict[str, Any]) -> Loc | None:
    if loc[:2] == ("events", "route"):
        return ("route", *_original_route_loc(loc[2:]))
    if loc[:1] == ("sinks",) and len(loc) >= 2:
        for i, receiver in enumerate(doc.get("receivers") or []):
            if isinstance(receiver, dict) and receiver.get("name") == loc[1]:
                return ("receivers", i, *loc[2:3])
    return None


def _original_route_loc(rest: Loc) -> Loc:
    return tuple(YAML_NAMES.get(p, p) if isinstance(p, str) else p for p in rest)


def translate_config(doc: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """The translation, raising ConfigError with every problem found."""
    warnings: list[str] = []
    issues: list[ConfigIssue] = []
    for key in doc:
        if key not in TOP_KEYS:
            close = difflib.get_close_matches(str(key), TOP_KEYS, n=1)
            hint = f"; did you mean '{close[0]}'?" if close else f"; event-exporter keys: {', '.join(TOP_KEYS)}"
            issues.append(ConfigIssue.at((key,), f"unknown key '{key}'{hint}"))
    native: dict[str, Any] = {}
    _logging(doc, native, warnings, issues)
    if doc.get("clusterName"):
        native.setdefault("cluster", {})["name"] = doc["clusterName"]
    if doc.get("kubeconfig"):
        native.setdefault("cluster", {})["kubeconfig"] = doc["kubeconfig"]
    for key in ("kubeQPS", "kubeBurst"):
        if key in doc:
            warnings.append(f"{key}: accepted and not needed: kubevigil makes no API call per event (involved objects "
                            "are fetched once into a bounded cache), so there is no client rate to tune")
    if "metricsNamePrefix" in doc:
        warnings.append("metricsNamePrefix: ignored; kubevigil's metrics are named kubevigil_events_* and "
                        "kubevigil_delivery_*")
    events = _events(doc, warnings, issues)
    referenced = _receivers_in(doc.get("route") or {})
    native["sinks"] = _sinks(doc.get("receivers") or [], referenced, warnings, issues)
    native["events"] = events
    if issues:
        raise ConfigError(issues)
    return native, warnings


def translate(doc: dict[str, Any], source: Path) -> tuple[dict[str, Any], list[str]]:
    """The importer protocol's entry point."""
    return translate_config(doc)


def _logging(doc: dict[str, Any], native: dict[str, Any], warnings: list[str], issues: list[ConfigIssue]) -> None:
    logging: dict[str, Any] = {}
    if "logLevel" in doc:
        level = LOG_LEVELS.get(str(doc["logLevel"]).lower())
        if level is None:
            issues.append(ConfigIssue.at(("logLevel",), f"unknown level {doc['logLevel']!r}; one of {', '.join(LOG_LEVELS)}"))
        else:
            logging["level"] = level
    if "logFormat" in doc:
        fmt = LOG_FORMATS.get(str(doc["logFormat"]).lower())
        if fmt is None:
            issues.append(ConfigIssue.at(("logFormat",), f"unknown format {doc['logFormat']!r}; json or pretty"))
        else:
            logging["format"] = fmt
    if logging:
        native["logging"] = logging


def _events(doc: dict[str, Any], warnings: list[str], issues: list[ConfigIssue]) -> dict[str, Any]:
    events: dict[str, Any] = {}
    if doc.get("namespace"):
        events["namespace"] = doc["namespace"]
    throttle, max_age = doc.get("throttlePeriod"), doc.get("maxEventAgeSeconds")
    if throttle and max_age:
        issues.append(ConfigIssue.at(("throttlePeriod",), "cannot set both throttlePeriod (deprecated) and "
                                     "maxEventAgeSeconds (as event-exporter refuses too)"))
    events["max_event_age_seconds"] = max_age or throttle or DEFAULT_MAX_AGE
    warnings.append(f"maxEventAgeSeconds: {events['max_event_age_seconds']} applies only to kubevigil's very first "
                    "start; after that a checkpoint makes restarts and relists export every occurrence not yet "
                    "exported, however old")
    election = doc.get("leaderElection") or {}
    events["leader_election"] = {"enabled": bool(election.get("enabled", False))}
    if election.get("leaderElectionID"):
        events["leader_election"]["lease_name"] = election["leaderElectionID"]
    events["route"] = _route(doc.get("route") or {}, ("route",), warnings, issues)
    return events


def _route(route: Any, loc: Loc, warnings: list[str], issues: list[ConfigIssue]) -> dict[str, Any]:
    if not isinstance(route, dict):
        issues.append(ConfigIssue.at(loc, "a route must be a mapping with drop, match and routes"))
        return {}
    out: dict[str, Any] = {}
    for key, value in route.items():
        if key not in ROUTE_KEYS:
            issues.append(ConfigIssue.at((*loc, key), f"unknown key '{key}' in a route (known: {', '.join(ROUTE_KEYS)})"))
        elif not isinstance(value, list):
            issues.append(ConfigIssue.at((*loc, key), f"{key} must be a list"))
        elif key == "routes":
            out["routes"] = [_route(r, (*loc, key, i), warnings, issues) for i, r in enumerate(value)]
        else:
            out[key] = [_rule(r, (*loc, key, i), warnings, issues) for i, r in enumerate(value)]
    return out


def _rule(rule: Any, loc: Loc, warnings: list[str], issues: list[ConfigIssue]) -> dict[str, Any]:
    if not isinstance(rule, dict):
        issues.append(ConfigIssue.at(loc, "a rule must be a mapping"))
        return {}
    out: dict[str, Any] = {}
    for key, value in rule.items():
        if key not in RULE_KEYS:
            issues.append(ConfigIssue.at((*loc, key), f"unknown key '{key}' in a rule (known: {', '.join(RULE_KEYS)})"))
        elif key in ("labels", "annotations") and isinstance(value, dict):
            out[key] = {k: _pattern(str(v), (*loc, key, k), warnings) for k, v in value.items()}
        elif key in ("minCount", "receiver"):
            out[key] = value
        else:
            out[key] = _pattern(str(value), (*loc, key), warnings)
    return out


def _pattern(pattern: str, loc: Loc, warnings: list[str]) -> str:
    """A regex as is; a glob that is no valid regex (`*test*`) read as the glob its author meant, with a warning."""
    try:
        re.compile(pattern)
        return pattern
    except re.error:
        pass
    fixed = glob_hint(pattern)
    where = ".".join(str(p) for p in loc)
    warnings.append(f"{where}: {pattern!r} is not a valid regular expression, so event-exporter never matched it; "
                    f"kubevigil reads it as the glob it looks like: {fixed!r}")
    return fixed


def _receivers_in(route: Any) -> set[str]:
    found: set[str] = set()
    if not isinstance(route, dict):
        return found
    for key in ("drop", "match"):
        for rule in route.get(key) or []:
            if isinstance(rule, dict) and rule.get("receiver"):
                found.add(str(rule["receiver"]))
    for sub in route.get("routes") or []:
        found |= _receivers_in(sub)
    return found


def _sinks(receivers: list[Any], referenced: set[str], warnings: list[str],
           issues: list[ConfigIssue]) -> dict[str, Any]:
    sinks: dict[str, Any] = {}
    for i, receiver in enumerate(receivers):
        loc: Loc = ("receivers", i)
        if not isinstance(receiver, dict) or not receiver.get("name"):
            issues.append(ConfigIssue.at(loc, "a receiver needs a name and one receiver type"))
            continue
        name = str(receiver["name"])
        kinds = [k for k in receiver if k != "name"]
        if len(kinds) != 1:
            issues.append(ConfigIssue.at(loc, f"receiver {name!r} must have exactly one type, has {kinds or 'none'}"))
            continue
        kind = kinds[0]
        cfg = receiver[kind] or {}
        try:
            cfg = _templates(cfg, (*loc, kind), issues)
            params, notes = _sink_params(kind, name, cfg)
        except _Unsupported as exc:
            if name in referenced:
                issues.append(ConfigIssue.at((*loc, kind), f"receiver {name!r}: {exc}; it is used by a route"))
            else:
                warnings.append(f"receiver {name!r}: {exc}; no route uses it, so it is left out")
            continue
        except (ValueError, TypeError) as exc:
            issues.append(ConfigIssue.at((*loc, kind), str(exc)))
            continue
        warnings += notes
        sinks[name] = {_sink_name(kind): params}
    return sinks


class _Unsupported(Exception):
    pass


def _templates(value: Any, loc: Loc, issues: list[ConfigIssue]) -> Any:
    """Every string with `{{` translated from Go template to Jinja; errors name the key and the construct."""
    if isinstance(value, dict):
        return {k: _templates(v, (*loc, k), issues) for k, v in value.items()}
    if isinstance(value, list):
        return [_templates(v, (*loc, i), issues) for i, v in enumerate(value)]
    if isinstance(value, str) and "{{" in value:
        try:
            return gotemplate.translate(value)
        except GoTemplateError as exc:
            issues.append(ConfigIssue.at(loc, f"Go template not translated: {exc}"))
    return value


SINK_NAMES = {"cloudwatchlogs": "cloudwatch_logs", "cloudwatch_logs": "cloudwatch_logs"}
NO_SINK = {"kafka": "Kafka is not supported (no broker can run in kubevigil's tests)",
           "pubsub": "Google Pub/Sub is not supported", "bigquery": "BigQuery is not supported",
           "pipe": "the pipe receiver is not supported; use file", "inmem": "the in-memory receiver is for tests"}


def _sink_name(kind: str) -> str:
    return SINK_NAMES.get(kind, kind)


def _sink_params(kind: str, name: str, cfg: Any) -> tuple[dict[str, Any], list[str]]:
    if kind in NO_SINK:
        raise _Unsupported(NO_SINK[kind])
    if not isinstance(cfg, dict):
        raise ValueError(f"receiver {name!r}: {kind} settings must be a mapping")
    module_name = f"kubevigil.sinks.{_sink_name(kind)}.event_exporter"
    try:
        module: Any = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name not in (module_name, f"kubevigil.sinks.{_sink_name(kind)}"):
            raise
        raise _Unsupported(f"event-exporter's {kind!r} receiver has no kubevigil translation") from None
    params, notes = module.translate(cfg)
    return params, list(notes)
