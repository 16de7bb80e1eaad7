"""cni-metrics-helper's environment variables, translated to a native config with one `scrape:` section.

cni-metrics-helper has no config file: its Deployment sets USE_CLOUDWATCH, USE_PROMETHEUS, AWS_CLUSTER_ID,
METRIC_UPDATE_INTERVAL, AWS_VPC_K8S_CNI_LOGLEVEL (and the SDK's AWS_REGION). Values are parsed as the original
parses them (booleans yes/true/no/false in any case, the interval as a Go integer); where the original silently
ignored a value it could not read, kubevigil refuses it with the variable's name. The published namespace
(`Kubernetes`), metric names and the CLUSTER_ID dimension are the original's.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from kubevigil.config.issues import ConfigError, ConfigIssue

NAMESPACE = "Kubernetes"
PROMETHEUS_LISTEN = "0.0.0.0:61681"  # where the original served its gauges with USE_PROMETHEUS
DEFAULT_INTERVAL = "30"
_GO_INT = re.compile(r"^[+-]?[0-9]+$")
_LOG_LEVELS = {"debug": "debug", "info": "info", "warn": "warning", "error": "error", "fatal": "error"}


def from_environment(environ: Mapping[str, str]) -> tuple[dict[str, Any], list[str]]:
    """The native config cni-metrics-helper's environment describes, and notes on values treated differently."""
    issues: list[ConfigIssue] = []
    warnings: list[str] = []
    use_cloudwatch = _boolean(environ, "USE_CLOUDWATCH", True, issues)
    use_prometheus = _boolean(environ, "USE_PROMETHEUS", False, issues)
    interval = _interval(environ, issues)
    level = _log_level(environ, issues)
    if not use_cloudwatch and not use_prometheus and not issues:
        issues.append(ConfigIssue.at(("USE_CLOUDWATCH",), "USE_CLOUDWATCH and USE_PROMETHEUS are both false: "
                                     "the metrics would go nowhere; enable at least one"))
    if issues:
        raise ConfigError(issues)
    if "CLUSTER_ENDPOINT" in environ:
        warnings.append("CLUSTER_ENDPOINT is not used: kubevigil reaches the API server through the in-cluster "
                        "service account (or KUBECONFIG)")

    job: dict[str, Any] = {"name": "aws-node", "interval": interval, "timeout": min(10.0, interval / 2)}
    section: dict[str, Any] = {"jobs": [job]}
    # One replica, no election, as the original: its RBAC has no Lease (two replicas need a config file).
    native: dict[str, Any] = {"logging": {"level": level, "format": "json"}, "leader_election": {"enabled": False},
                              "sinks": {}, "scrape": section}
    if environ.get("AWS_CLUSTER_ID"):
        section["cluster_id"] = environ["AWS_CLUSTER_ID"]
    imds: dict[str, Any] = {}
    if environ.get("AWS_EC2_METADATA_SERVICE_ENDPOINT"):
        imds["endpoint"] = environ["AWS_EC2_METADATA_SERVICE_ENDPOINT"]
    if environ.get("AWS_EC2_METADATA_DISABLED", "").lower() == "true":
        imds["enabled"] = False
    if imds:
        section["imds"] = imds
    if use_cloudwatch:
        cloudwatch: dict[str, Any] = {"namespace": NAMESPACE}
        if environ.get("AWS_REGION"):
            cloudwatch["region"] = environ["AWS_REGION"]
        native["sinks"]["cloudwatch"] = {"cloudwatch": cloudwatch}
        section["sinks"] = ["cloudwatch"]
    if use_prometheus:
        native["sinks"]["prometheus"] = {"prometheus": {"prefix": ""}}
        section["prometheus_sinks"] = ["prometheus"]
        native["server"] = {"listen": PROMETHEUS_LISTEN}
    return native, warnings


def _boolean(environ: Mapping[str, str], name: str, default: bool, issues: list[ConfigIssue]) -> bool:
    if name not in environ:
        return default
    value = environ[name].lower()
    if value in ("yes", "true"):
        return True
    if value in ("no", "false"):
        return False
    issues.append(ConfigIssue.at((name,), f"{environ[name]!r} is not a boolean: use true/yes or false/no "
                                 f"(cni-metrics-helper silently kept {str(default).lower()})"))
    return default


def _interval(environ: Mapping[str, str], issues: list[ConfigIssue]) -> float:
    text = environ.get("METRIC_UPDATE_INTERVAL", DEFAULT_INTERVAL)
    if not _GO_INT.match(text):
        issues.append(ConfigIssue.at(("METRIC_UPDATE_INTERVAL",), f"{text!r} is not an integer number of seconds"))
        return float(DEFAULT_INTERVAL)
    seconds = int(text)
    if seconds < 1:
        issues.append(ConfigIssue.at(("METRIC_UPDATE_INTERVAL",),
                                     f"{seconds} must be at least 1 second (cni-metrics-helper never ran a cycle)"))
        return float(DEFAULT_INTERVAL)
    return float(seconds)


def _log_level(environ: Mapping[str, str], issues: list[ConfigIssue]) -> str:
    text = environ.get("AWS_VPC_K8S_CNI_LOGLEVEL", "")
    if not text:
        return "debug"  # the original's default
    level = _LOG_LEVELS.get(text.lower())
    if level is None:
        issues.append(ConfigIssue.at(("AWS_VPC_K8S_CNI_LOGLEVEL",),
                                     f"{text!r} is not a log level: use DEBUG, INFO, WARN, ERROR or FATAL"))
        return "info"
    return level
