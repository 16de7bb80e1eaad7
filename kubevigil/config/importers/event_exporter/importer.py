"""kubernetes-event-exporter's config file, translated to a native `events:` section and one sink per receiver.

Go templates in receiver params become Jinja (`gotemplate.py`); each receiver's keys are renamed by its family's
module here (`aws.py`, `search.py`, `webhooks.py`, `local.py`). What kubevigil treats differently produces a warning.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from kubevigil.config.importers import gotemplate
from kubevigil.config.importers.event_exporter import aws, local, search, webhooks
from kubevigil.config.importers.event_exporter.routes import receivers_in, route_origin, translate_route
from kubevigil.config.importers.event_exporter.shape import TOP_KEYS
from kubevigil.config.importers.gotemplate import GoTemplateError
from kubevigil.config.issues import ConfigError, ConfigIssue, Loc

LOG_LEVELS = {"trace": "debug", "debug": "debug", "info": "info", "warn": "warning", "error": "error",
              "fatal": "error", "panic": "error", "disabled": "error"}  # zerolog.ParseLevel's names
LOG_FORMATS = {"json": "json", "pretty": "console"}
METRICS_PREFIX = re.compile(r"[a-zA-Z][a-zA-Z0-9_:]*_")
DEFAULT_MAX_AGE = 5  # event-exporter's default
# Keys event-exporter decodes into Go bools, per receiver type (a quoted "false" there is a type error in Go)
BOOL_KEYS: dict[str, tuple[Loc, ...]] = {
    "elasticsearch": (("useEventID",), ("deDot",), ("tls", "insecureSkipVerify")),
    "opensearch": (("useEventID",), ("deDot",), ("tls", "insecureSkipVerify")),
    "file": (("deDot",),), "stdout": (("deDot",),), "firehose": (("deDot",),), "pipe": (("deDot",),),
    "webhook": (("tls", "insecureSkipVerify"),), "loki": (("tls", "insecureSkipVerify"),),
    "teams": (("tls", "insecureSkipVerify"),), "pubsub": (("create_topic",),),
    "kafka": (("tls", "enable"), ("tls", "insecureSkipVerify"), ("sasl", "enable")),
}  # fmt: skip


def origin(loc: Loc, doc: dict[str, Any]) -> Loc | None:
    if loc[:2] == ("leader_election", "lease_name"):
        return ("leaderElection", "leaderElectionID")
    if loc[:1] == ("leader_election",):
        return ("leaderElection",)
    if loc[:2] == ("events", "route"):
        return ("route", *route_origin(loc[2:]))
    if loc[:1] == ("sinks",) and len(loc) >= 2:
        for i, receiver in enumerate(doc.get("receivers") or []):
            if isinstance(receiver, dict) and str(receiver.get("name")) == loc[1]:
                return ("receivers", i, *_receiver_origin(receiver, loc[2:]))
    return None


def _receiver_origin(receiver: dict[str, Any], rest: Loc) -> Loc:
    """A native sink's key path as the receiver's: `webhook.endpoint` stays, `sns.topic_arn` is `sns.topicARN`."""
    kind = next((k for k in receiver if k != "name"), None)
    if kind is None or not rest:
        return ()
    keys = RECEIVERS[kind][1] if kind in RECEIVERS else {}
    cfg = receiver.get(kind)
    param = rest[1:2]
    for original, native in keys.items():
        if param == (native,) and isinstance(cfg, dict) and original in cfg:
            return (kind, original, *rest[2:])
    return (kind,)


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
    _logging(doc, native, issues)
    if doc.get("clusterName"):
        native.setdefault("cluster", {})["name"] = doc["clusterName"]
    if doc.get("kubeconfig"):
        native.setdefault("cluster", {})["kubeconfig"] = doc["kubeconfig"]
    _ignored(doc, warnings, issues)
    events = _events(doc, warnings, issues)
    referenced = receivers_in(doc.get("route") or {})
    receivers = doc.get("receivers") or []
    if not isinstance(receivers, list):
        issues.append(ConfigIssue.at(("receivers",), "must be a list of receivers (- name: ..., <type>: {...})"))
        receivers = []
    native["sinks"] = _sinks(receivers, referenced, warnings, issues)
    native["leader_election"] = _leader_election(doc, issues)
    native["events"] = events
    if issues:
        raise ConfigError(issues)
    return native, warnings


def translate(doc: dict[str, Any], source: Path) -> tuple[dict[str, Any], list[str]]:
    """The importer protocol's entry point."""
    return translate_config(doc)


def go_bool(doc: Any, loc: Loc, issues: list[ConfigIssue], where: Loc = ()) -> bool | None:
    """The bool at `loc` in `doc` as Go's YAML decoder reads it: true/false, or a type error (a quoted "false" too)."""
    value: Any = doc
    for part in loc:
        if not isinstance(value, dict) or part not in value:
            return None
        value = value[part]
    if value is None or isinstance(value, bool):
        return value
    issues.append(ConfigIssue.at((*where, *loc), f"expected true or false; got {value!r} (event-exporter decodes this "
                                 "key into a Go bool, so a string such as \"false\" is an error there too)"))
    return None


def _logging(doc: dict[str, Any], native: dict[str, Any], issues: list[ConfigIssue]) -> None:
    logging: dict[str, Any] = {}
    if doc.get("logLevel") not in (None, ""):
        level = LOG_LEVELS.get(str(doc["logLevel"]).lower())
        if level is None:
            issues.append(ConfigIssue.at(("logLevel",), f"unknown level {doc['logLevel']!r}; one of {', '.join(LOG_LEVELS)}"))
        else:
            logging["level"] = level
    if doc.get("logFormat") not in (None, ""):
        fmt = LOG_FORMATS.get(str(doc["logFormat"]))
        if fmt is None:
            issues.append(ConfigIssue.at(("logFormat",), f"unknown format {doc['logFormat']!r}; json or pretty"))
        else:
            logging["format"] = fmt
    if logging:
        native["logging"] = logging


def _ignored(doc: dict[str, Any], warnings: list[str], issues: list[ConfigIssue]) -> None:
    for key in ("kubeQPS", "kubeBurst"):
        if key in doc:
            warnings.append(f"{key}: accepted and not needed: kubevigil makes no API call per event (involved objects "
                            "are fetched once into a bounded cache), so there is no client rate to tune")
    prefix = doc.get("metricsNamePrefix")
    if prefix not in (None, "") and not METRICS_PREFIX.fullmatch(str(prefix)):
        issues.append(ConfigIssue.at(("metricsNamePrefix",), f"{prefix!r} must match ^[a-zA-Z][a-zA-Z0-9_:]*_$ "
                                     "(as event-exporter requires)"))
    elif "metricsNamePrefix" in doc:
        warnings.append("metricsNamePrefix: ignored; kubevigil's metrics are named kubevigil_events_* and "
                        "kubevigil_delivery_*")


def _leader_election(doc: dict[str, Any], issues: list[ConfigIssue]) -> dict[str, Any]:
    """event-exporter's `leaderElection` is the process's election in kubevigil (off unless enabled, as there)."""
    election = doc.get("leaderElection") or {}
    native: dict[str, Any] = {"enabled": bool(go_bool(election, ("enabled",), issues, ("leaderElection",)))}
    if isinstance(election, dict) and election.get("leaderElectionID"):
        native["lease_name"] = election["leaderElectionID"]
    return native


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
    enrichment: dict[str, Any] = {}
    if go_bool(doc, ("omitLookup",), issues):
        enrichment["enabled"] = False
    if doc.get("cacheSize"):
        enrichment["cache_size"] = doc["cacheSize"]
    if enrichment:
        events["enrichment"] = enrichment
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
        if not isinstance(receiver["name"], str | int | float) or isinstance(receiver["name"], bool):
            issues.append(ConfigIssue.at((*loc, "name"), f"a receiver's name is a string; got {type(receiver['name']).__name__}"))
            continue
        name = str(receiver["name"])
        kinds = [k for k in receiver if k != "name"]
        if len(kinds) != 1:
            issues.append(ConfigIssue.at(loc, f"receiver {name!r} must have exactly one type, has {kinds or 'none'}"))
            continue
        kind = kinds[0]
        cfg = receiver[kind] or {}
        for bool_loc in BOOL_KEYS.get(kind, ()):
            go_bool(cfg, bool_loc, issues, (*loc, kind))
        try:
            cfg = _templates(cfg, (*loc, kind), issues)
            params, notes = _sink_params(kind, name, cfg)
        except _Unsupported as exc:
            if name in referenced:
                issues.append(ConfigIssue.at((*loc, kind), f"receiver {name!r}: {exc}; it is used by a route"))
            else:
                warnings.append(f"receiver {name!r}: {exc}; no route uses it, so it is left out")
            continue
        except ConfigError as exc:
            issues += [ConfigIssue.at((*loc, kind, *issue.loc), issue.message) for issue in exc.issues]
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
NO_SINK = {
    "kafka": "Kafka is not supported (no broker can run in kubevigil's tests); nearest: kinesis, or webhook to a "
             "Kafka REST proxy",
    "pubsub": "Google Pub/Sub is not supported; nearest: webhook, or sns/sqs",
    "bigquery": "BigQuery is not supported; nearest: firehose (to S3) or opensearch",
    "opscenter": "AWS OpsCenter is not supported; nearest: eventbridge with a rule whose target creates OpsItems",
    "pipe": "the pipe receiver is not supported; nearest: file (path: /dev/stdout works) or stdout",
    "inMemory": "the in-memory receiver is for event-exporter's own tests",
}  # fmt: skip


def _sink_name(kind: str) -> str:
    return SINK_NAMES.get(kind, kind)


Translation = Callable[[dict[str, Any]], tuple[dict[str, Any], list[str]]]
# receiver type -> its translation and its key names (original -> param), the latter for error lines
RECEIVERS: dict[str, tuple[Translation, dict[str, str]]] = {
    "sns": (aws.sns, aws.SNS_KEYS), "sqs": (aws.sqs, aws.SQS_KEYS), "kinesis": (aws.kinesis, aws.KINESIS_KEYS),
    "firehose": (aws.firehose, aws.FIREHOSE_KEYS), "eventbridge": (aws.eventbridge, aws.EVENTBRIDGE_KEYS),
    "elasticsearch": (search.elasticsearch, search.ELASTICSEARCH_KEYS),
    "opensearch": (search.opensearch, search.KEYS),
    "webhook": (webhooks.webhook, webhooks.WEBHOOK_KEYS), "teams": (webhooks.teams, webhooks.TEAMS_KEYS),
    "loki": (webhooks.loki, webhooks.LOKI_KEYS), "slack": (webhooks.slack, webhooks.SLACK_KEYS),
    "opsgenie": (webhooks.opsgenie, webhooks.OPSGENIE_KEYS),
    "file": (local.file, local.FILE_KEYS), "stdout": (local.stdout, local.STDOUT_KEYS),
    "syslog": (local.syslog, local.SYSLOG_KEYS),
}  # fmt: skip


def _sink_params(kind: str, name: str, cfg: Any) -> tuple[dict[str, Any], list[str]]:
    if kind in NO_SINK:
        raise _Unsupported(NO_SINK[kind])
    if not isinstance(cfg, dict):
        raise TypeError(f"receiver {name!r}: {kind} settings must be a mapping")
    if kind not in RECEIVERS:
        raise _Unsupported(f"event-exporter's {kind!r} receiver has no kubevigil translation")
    params, notes = RECEIVERS[kind][0](cfg)
    return params, list(notes)
