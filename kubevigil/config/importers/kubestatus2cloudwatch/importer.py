"""kubestatus2cloudwatch's config file, translated to a native `status:` section and one `cloudwatch` sink (a
`stdout` sink with `dryRun: true`, since the original then skips PutMetricData).

The same metric namespace, name and dimensions are published (no Cluster dimension is added), so existing alarms
keep working. Values kubevigil treats differently produce a warning saying how.
"""

from __future__ import annotations

import difflib
from pathlib import Path
from typing import Any

from kubevigil.config.importers.kubestatus2cloudwatch.shape import TOP_KEYS
from kubevigil.config.issues import ConfigError, ConfigIssue, Loc

SINK = "cloudwatch"
DRY_RUN_SINK = "dry_run"  # what `dryRun: true` publishes to instead: a stdout sink
DEFAULT_SECONDS = 60
METRIC_KEYS = ("namespace", "name", "dimensions")
LOGGING_KEYS = ("level", "format")

# native key path prefix -> original key path prefix, for errors found while validating the translation
_ORIGINS: tuple[tuple[Loc, Loc], ...] = (
    (("sinks", SINK, "cloudwatch", "namespace"), ("metric", "namespace")),
    (("status", "metric", "name"), ("metric", "name")),
    (("status", "metric", "dimensions"), ("metric", "dimensions")),
    (("status", "metric"), ("metric",)),
    (("status", "seconds"), ("seconds",)),
    (("status", "targets"), ("targets",)),
    (("logging", "level"), ("logging", "level")),
    (("logging", "format"), ("logging", "format")),
    (("logging",), ("logging",)),
)


def origin(loc: Loc, doc: dict[str, Any]) -> Loc | None:
    for native, original in _ORIGINS:
        if loc[: len(native)] == native:
            return original + loc[len(native):]
    return None


def _unknown(mapping: Any, known: tuple[str, ...], where: Loc) -> list[ConfigIssue]:
    if not isinstance(mapping, dict):
        return []
    issues = []
    for key in mapping:
        if key not in known:
            close = difflib.get_close_matches(str(key), known, n=1)
            hint = f"; did you mean '{close[0]}'?" if close else f"; valid keys here: {', '.join(known)}"
            issues.append(ConfigIssue.at((*where, key), f"unknown key '{key}'{hint}"))
    return issues


def _dimensions(value: Any, warnings: list[str]) -> Any:
    """The original's list of {name, value} as the native mapping; anything else passes on to fail validation."""
    if not isinstance(value, list) or not all(isinstance(d, dict) and set(d) == {"name", "value"}
                                              and isinstance(d["name"], str) for d in value):
        return value
    out: dict[str, str] = {}
    for d in value:
        if d["name"] in out:
            warnings.append(f"metric.dimensions: '{d['name']}' appears twice; kubevigil keeps the last value "
                            f"({d['value']!r}) because CloudWatch rejects repeated dimension names")
        out[d["name"]] = d["value"]
    return out


def _seconds(doc: dict[str, Any], warnings: list[str]) -> Any:
    seconds = doc.get("seconds", DEFAULT_SECONDS)
    if seconds == 0 and not isinstance(seconds, bool):
        warnings.append(f"seconds: 0 is not an interval; kubevigil publishes every {DEFAULT_SECONDS} s "
                        "(kubestatus2cloudwatch's default)")
        return DEFAULT_SECONDS
    return seconds


def _logging(value: Any, warnings: list[str]) -> Any:
    if not isinstance(value, dict):
        return value
    out = dict(value)
    if out.get("format") == "logfmt":
        warnings.append("logging.format: logfmt: kubevigil writes its console format (key=value pairs after "
                        "the message) instead")
        out["format"] = "console"
    return out


def _mode_warnings(targets: Any) -> list[str]:
    if not isinstance(targets, list):
        return []
    return [
        f"targets[{i}].mode: AtLeastOne: kubestatus2cloudwatch reported such targets healthy whatever their "
        "replicas (its check was inverted); kubevigil requires at least one ready replica, so this target may now "
        "report 0"
        for i, t in enumerate(targets)
        if isinstance(t, dict) and t.get("mode") == "AtLeastOne"
    ]


def translate(doc: dict[str, Any], source: Path) -> tuple[dict[str, Any], list[str]]:
    """The native config for a kubestatus2cloudwatch file, and warnings for values handled differently."""
    issues = _unknown(doc, TOP_KEYS, ()) + _unknown(doc.get("metric"), METRIC_KEYS, ("metric",))
    issues += _unknown(doc.get("logging"), LOGGING_KEYS, ("logging",))
    issues += [ConfigIssue.at((key,), f"required key is missing ({what})") for key, what in
               (("metric", "the CloudWatch namespace and metric name"), ("targets", "the workloads to watch"))
               if key not in doc]
    metric = doc.get("metric")
    if "metric" in doc and not isinstance(metric, dict):
        issues.append(ConfigIssue.at(("metric",), "must be a mapping with `namespace` and `name`"))
    elif isinstance(metric, dict) and "namespace" not in metric:
        issues.append(ConfigIssue.at(("metric",), "missing required key 'namespace' (the CloudWatch namespace)"))
    dry_run = doc.get("dryRun", False)
    if not isinstance(dry_run, bool):
        issues.append(ConfigIssue.at(("dryRun",), f"expected true or false; got {dry_run!r} (kubestatus2cloudwatch "
                                     "decodes it into a Go bool, so a string such as \"true\" is an error there too)"))
    if issues:
        raise ConfigError(issues)
    assert isinstance(metric, dict)
    warnings: list[str] = []
    native_metric: dict[str, Any] = {k: v for k, v in metric.items() if k == "name"}
    if "dimensions" in metric:
        native_metric["dimensions"] = _dimensions(metric["dimensions"], warnings)
    # The original publishes exactly its configured dimensions; no Cluster dimension is added.
    native_metric["cluster_dimension"] = None
    sinks: dict[str, Any] = {SINK: {"cloudwatch": {"namespace": metric["namespace"]}}}
    if dry_run:
        sinks = {DRY_RUN_SINK: {"stdout": {}}}
        warnings.append(f"dryRun: true: kubevigil puts nothing to CloudWatch (namespace {metric['namespace']!r} is "
                        f"not used); it writes each heartbeat as a JSON line on standard output instead (a `stdout` "
                        f"sink named {DRY_RUN_SINK!r})")
    status: dict[str, Any] = {
        "targets": doc["targets"],
        "metric": native_metric,
        "seconds": _seconds(doc, warnings),
        "sinks": list(sinks),
    }
    warnings += _mode_warnings(doc["targets"])
    native: dict[str, Any] = {"sinks": sinks, "status": status}
    if "logging" in doc:
        native["logging"] = _logging(doc["logging"], warnings)
    return native, warnings
