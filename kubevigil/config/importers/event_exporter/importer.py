"""kubernetes-event-exporter's config file, translated to a native `events:` section and one sink per receiver.

Go templates in receiver params become Jinja (`gotemplate.py`); each receiver's keys are renamed by its family's
module here (`aws.py`, `search.py`, `webhooks.py`, `local.py`). What kubevigil treats differently produces a warning.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable
from pathlib import Path
from typing import Any

from kubevigil.config.importers import gotemplate
from kubevigil.config.importers.event_exporter import aws, local, search, webhooks
from kubevigil.config.importers.event_exporter.routes import receivers_in, route_origin, translate_route
from kubevigil.config.importers.gotemplate import GoTemplateError
from kubevigil.config.issues import ConfigError, ConfigIssue, Loc

TOP_KEYS = ("logLevel", "logFormat", "throttlePeriod", "maxEventAgeSeconds", "clusterName", "namespace",
            "leaderElection", "route", "receivers", "kubeQPS", "kubeBurst", "kubeconfig", "metricsNamePrefix")
LOG_LEVELS = {"trace": "debug", "debug": "debug", "info": "info", "warn": "warning", "warning": "warning",
              "error": "error", "fatal": "error", "panic": "error", "disabled": "error"}
LOG_FORMATS = {"json": "json", "pretty": "console", "console": "console"}
DEFAULT_MAX_AGE = 5  # event-exporter's default


def detect(doc: dict[str, Any]) -> bool:
    """event-exporter files have `receivers` (a list) and `route` at the top level."""
    return isinstance(doc, dict) and isinstance(doc.get("receivers"), list) and "route" in doc


def origin(loc: Loc, doc: dict[str, Any]) -> Loc | None:
    if loc[:2] == ("events", "route"):
        return ("route", *route_origin(loc[2:]))
    if loc[:1] == ("sinks",) and len(loc) >= 2:
        for i, receiver in enumerate(doc.get("receivers") or []):
            if isinstance(receiver, dict) and receiver.get("name") == loc[1]:
                return ("receivers", i, *loc[2:3])
    return None


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
    referenced = receivers_in(doc.get("route") or {})
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
    events["route"] = translate_route(doc.get("route") or {}, ("route",), warnings, issues)
    return events


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


Translation = Callable[[dict[str, Any]], tuple[dict[str, Any], list[str]]]
RECEIVERS: dict[str, Translation] = {
    "sns": aws.sns, "sqs": aws.sqs, "kinesis": aws.kinesis, "firehose": aws.firehose, "eventbridge": aws.eventbridge,
    "elasticsearch": search.elasticsearch, "opensearch": search.opensearch,
    "webhook": webhooks.webhook, "teams": webhooks.teams, "loki": webhooks.loki, "slack": webhooks.slack,
    "opsgenie": webhooks.opsgenie,
    "file": local.file, "stdout": local.stdout, "syslog": local.syslog,
}  # fmt: skip


def _sink_params(kind: str, name: str, cfg: Any) -> tuple[dict[str, Any], list[str]]:
    if kind in NO_SINK:
        raise _Unsupported(NO_SINK[kind])
    if not isinstance(cfg, dict):
        raise TypeError(f"receiver {name!r}: {kind} settings must be a mapping")
    receiver = RECEIVERS.get(kind)
    if receiver is None:
        raise _Unsupported(f"event-exporter's {kind!r} receiver has no kubevigil translation")
    params, notes = receiver(cfg)
    return params, list(notes)
