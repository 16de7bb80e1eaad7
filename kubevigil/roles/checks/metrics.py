"""Prometheus metrics of checks: active-monitor's and kuberhealthy's names, a namespace label on every series.

Values come from each check's status (the counts survive restarts and leader changes) and go away with the check.
Custom metrics (a Workflow's `{"metrics": [...]}` output, a Job's termination message, a probe's values) are named
as active-monitor names them, `<check name>_<metric name>`, and capped in number.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import structlog
from prometheus_client import CollectorRegistry
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from kubevigil.roles.checks.check import CheckKey
from kubevigil.roles.checks.status import parse_time

log = structlog.get_logger("kubevigil.checks")

_NAME = re.compile(r"[^a-zA-Z0-9_]")
_VALID = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")


@dataclass(slots=True)
class CustomValue:
    help: str
    value: float


class CheckMetrics(Collector):
    """Reads `views` (check -> its latest status) at scrape time; keeps custom metric values itself."""

    def __init__(self, views: Mapping[CheckKey, dict[str, Any]], clock_now: Any, limit: int,
                 registry: CollectorRegistry) -> None:
        self._views = views
        self._now = clock_now
        self._limit = limit
        self.custom: dict[tuple[str, CheckKey], CustomValue] = {}
        self.custom_dropped = 0
        self._warned: set[CheckKey] = set()  # one log line per check, not one per run
        registry.register(self)

    def set_custom(self, key: CheckKey, metrics: list[dict[str, Any]]) -> None:
        """Record custom metric values reported by a run; invalid entries and those past the cap are dropped."""
        for m in metrics:
            raw_name, value = m.get("name"), m.get("value")
            if not raw_name or not isinstance(value, int | float) or isinstance(value, bool):
                self.custom_dropped += 1
                continue
            name = _NAME.sub("_", f"{key.name}_{raw_name}")
            if not _VALID.match(name):
                self.custom_dropped += 1
                continue
            slot = (name, key)
            if slot not in self.custom and len(self.custom) >= self._limit:
                self.custom_dropped += 1
                if key not in self._warned:
                    self._warned.add(key)
                    log.warning("custom metrics dropped: custom_metrics_limit reached (counted in "
                                "kubevigil_checks_custom_metrics_dropped_total)", check=key, limit=self._limit)
                continue
            self.custom[slot] = CustomValue(str(m.get("help") or f"Custom metric {raw_name} of a HealthCheck"),
                                            float(value))

    def forget(self, key: CheckKey) -> None:
        self._warned.discard(key)
        for slot in [s for s in self.custom if s[1] == key]:
            del self.custom[slot]

    def describe(self) -> list[Metric]:
        return []  # the set of families changes with custom metrics: describe nothing, collect at scrape time

    def collect(self) -> Iterator[Metric]:
        am = _activemonitor_families()
        kh = _kuberhealthy_families()
        now = self._now()
        for key, status in sorted(self._views.items(), key=lambda kv: str(kv[0])):
            _add_activemonitor(am, key, status)
            _add_kuberhealthy(kh, key, status, now)
        yield from am.values()
        yield from kh.values()
        yield from self._custom_families()
        dropped = CounterMetricFamily("kubevigil_checks_custom_metrics_dropped",
                                      "Custom metric values dropped (invalid, or past custom_metrics_limit)")
        dropped.add_metric([], self.custom_dropped)
        yield dropped

    def _custom_families(self) -> Iterator[Metric]:
        families: dict[str, GaugeMetricFamily] = {}
        for (name, key), cv in sorted(self.custom.items(), key=lambda kv: (kv[0][0], str(kv[0][1]))):
            fam = families.get(name)
            if fam is None:
                fam = families[name] = GaugeMetricFamily(name, cv.help, labels=["healthcheck_name", "namespace"])
            fam.add_metric([key.name, key.namespace], cv.value)
        yield from families.values()


_AM_LABELS = ["healthcheck_name", "workflow", "namespace", "crd"]
_KH_LABELS = ["check", "namespace", "crd"]


def _activemonitor_families() -> dict[str, Any]:
    return {
        "success": _exact_counter("healthcheck_success_count", "The total number of successful healthcheck runs"),
        "error": _exact_counter("healthcheck_error_count", "The total number of failed healthcheck runs"),
        "runtime": GaugeMetricFamily("healthcheck_runtime_seconds", "Time taken for the last run to complete",
                                     labels=_AM_LABELS),
        "start": GaugeMetricFamily("healthcheck_starttime", "Start time of the last run (unix seconds)",
                                   labels=_AM_LABELS),
        "finish": GaugeMetricFamily("healthcheck_finishedtime", "Finish time of the last run (unix seconds)",
                                    labels=_AM_LABELS),
    }


def _exact_counter(name: str, doc: str) -> Metric:
    """A running count exposed under exactly `name`, as active-monitor's Go client names it (no _total suffix).

    Untyped, because prometheus_client exposes a counter family only as <name>_total; rate() works the same.
    """
    return Metric(name, doc + " (a counter)", "unknown")


def _add_activemonitor(fams: dict[str, Any], key: CheckKey, status: dict[str, Any]) -> None:
    for workflow, ok_key, err_key, started_key, finished_key in (
            ("healthCheck", "successCount", "failedCount", "startedAt", "finishedAt"),
            ("remedy", "remedySuccessCount", "remedyFailedCount", "remedyStartedAt", "remedyFinishedAt")):
        labels = {"healthcheck_name": key.name, "workflow": workflow, "namespace": key.namespace, "crd": key.group}
        started, finished = parse_time(status.get(started_key)), parse_time(status.get(finished_key))
        if workflow == "remedy" and started is None and not status.get(ok_key) and not status.get(err_key):
            continue
        fams["success"].add_sample("healthcheck_success_count", labels, float(status.get(ok_key) or 0))
        fams["error"].add_sample("healthcheck_error_count", labels, float(status.get(err_key) or 0))
        values = [key.name, workflow, key.namespace, key.group]
        if started is not None and finished is not None:
            fams["runtime"].add_metric(values, max(0.0, finished - started))
            fams["start"].add_metric(values, started)
            fams["finish"].add_metric(values, finished)


def _kuberhealthy_families() -> dict[str, GaugeMetricFamily | CounterMetricFamily]:
    return {
        "check": GaugeMetricFamily("kuberhealthy_check", "Shows the status of a check (1 ok, 0 failing)",
                                   labels=[*_KH_LABELS, "status"]),
        "duration": GaugeMetricFamily("kuberhealthy_check_duration_seconds", "Shows the check run duration",
                                      labels=_KH_LABELS),
        "consecutive": GaugeMetricFamily("kuberhealthy_check_consecutive_failures",
                                         "Consecutive failed runs of a check", labels=_KH_LABELS),
        # counters, so the `_total` names pass promtool (a gauge named `_total` is flagged); the series are the same
        "success": CounterMetricFamily("kuberhealthy_check_success", "Successful runs of a check", labels=_KH_LABELS),
        "failure": CounterMetricFamily("kuberhealthy_check_failure", "Failed runs of a check", labels=_KH_LABELS),
        "since": GaugeMetricFamily("kuberhealthy_check_seconds_since_success",
                                   "Seconds since the last successful run (-1: none yet)", labels=_KH_LABELS),
    }


def _add_kuberhealthy(fams: dict[str, GaugeMetricFamily | CounterMetricFamily], key: CheckKey, status: dict[str, Any], now: float) -> None:
    if status.get("status") not in ("Succeeded", "Failed"):
        return
    values = [key.name, key.namespace, key.group]
    ok = status["status"] == "Succeeded"
    fams["check"].add_metric([*values, "1" if ok else "0"], 1.0 if ok else 0.0)
    fams["duration"].add_metric(values, float(status.get("lastRunDuration") or 0))
    fams["consecutive"].add_metric(values, float(status.get("consecutiveFailures") or 0))
    fams["success"].add_metric(values, float(status.get("successCount") or 0))
    fams["failure"].add_metric(values, float(status.get("failedCount") or 0))
    last_ok = parse_time(status.get("lastSuccessAt"))
    fams["since"].add_metric(values, now - last_ok if last_ok is not None else -1.0)
