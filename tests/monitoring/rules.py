"""deploy/monitoring's files as the tests read them: the PrometheusRule's groups and every PromQL expression."""

from __future__ import annotations

import importlib.util
import json
import re
import sys
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
MONITORING = ROOT / "deploy" / "monitoring"
# Grafana's variables, as a person opening the dashboard gets them by default (the rate window sized for the
# tests' one-second scrapes).
VARIABLES = {"$__rate_interval": "30s", "${cni_prefix}": "kubevigil_", "$type": ".*"}
_METRIC = re.compile(r"\b((?:kubevigil|kubenurse|kuberhealthy|healthcheck)_[a-z0-9_]+)")


def rule_spec() -> dict[str, Any]:
    doc = yaml.safe_load((MONITORING / "prometheusrule.yaml").read_text())
    assert (doc["apiVersion"], doc["kind"]) == ("monitoring.coreos.com/v1", "PrometheusRule")
    spec: dict[str, Any] = doc["spec"]
    return spec


def alerts() -> list[dict[str, Any]]:
    return [rule for group in rule_spec()["groups"] for rule in group["rules"]]


def generator() -> Any:
    spec = importlib.util.spec_from_file_location("grafana_dashboards", ROOT / "scripts" / "grafana_dashboards.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def dashboard_queries() -> list[tuple[str, str, str]]:
    """(dashboard title, row title, expression with the default variables) of every panel query."""
    out = []
    for path in sorted((MONITORING / "grafana").glob("*.json")):
        board = json.loads(path.read_text())
        row = ""
        for panel in board["panels"]:
            if panel["type"] == "row":
                row = panel["title"]
                continue
            for target in panel["targets"]:
                out.append((board["title"], row, substitute(target["expr"])))
    return out


def substitute(expr: str) -> str:
    for name, value in VARIABLES.items():
        expr = expr.replace(name, value)
    assert "$" not in expr, f"a Grafana variable the tests do not know: {expr}"
    return expr


def metric_names(expr: str) -> set[str]:
    return set(_METRIC.findall(expr))
