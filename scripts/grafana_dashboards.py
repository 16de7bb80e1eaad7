"""Writes deploy/monitoring/grafana/*.json: kubevigil's Grafana dashboards, from the panel lists below.

Run: .venv/bin/python scripts/grafana_dashboards.py   (tests/monitoring/test_dashboards.py checks the files are
current, and evaluates every query against a real Prometheus scraping `kubevigil demo`)
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

OUT = Path(__file__).resolve().parents[1] / "deploy" / "monitoring" / "grafana"
DATASOURCE = {"type": "prometheus", "uid": "${datasource}"}
RATE = "$__rate_interval"
# Cluster sums of the scrape role's prometheus sink, not its per-node or per-subnet breakdown series.
SUMS = 'NodeName="",Subnet=""'


@dataclass(frozen=True)
class Query:
    expr: str
    legend: str = ""


@dataclass(frozen=True)
class Panel:
    title: str
    queries: tuple[Query, ...]
    description: str
    kind: str = "timeseries"  # timeseries, stat, state-timeline, table
    unit: str = "short"
    width: int = 12
    options: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Row:
    title: str  # "Title (role)": the role whose metrics the row shows, tests map rows to the demo's roles
    panels: tuple[Panel, ...]


def q(expr: str, legend: str = "") -> Query:
    return Query(expr, legend)


HEALTH = {"mappings": [{"type": "value", "options": {"0": {"text": "unhealthy", "color": "red"},
                                                     "1": {"text": "healthy", "color": "green"}}}]}

OVERVIEW = (
    Row("Heartbeat (status)", (
        Panel("Heartbeat", (q("kubevigil_status_healthy", "{{instance}}"),),
              "1: every status target healthy from a fresh view; 0: one is not, or kubevigil cannot see. "
              "No value: kubevigil (or its status role) is down.", kind="stat", width=6, options=HEALTH),
        Panel("Stale targets", (q("kubevigil_status_stale_targets", "{{instance}}"),),
              "Targets whose view of the cluster is stale: their healthy values are withheld.", kind="stat",
              width=6),
        Panel("Seconds since the last publish", (q("time() - kubevigil_status_last_publish_timestamp_seconds",
                                                   "{{instance}}"),),
              "Grows while a stale view withholds the heartbeat (GET /status: `withheld`).", unit="s"),
        Panel("Targets", (q("kubevigil_status_target_healthy", "{{target}}"),),
              "Each status target over time; GET /status gives the reason of an unhealthy one.",
              kind="state-timeline", width=24, options=HEALTH),
    )),
    Row("Delivery (any)", (
        Panel("Items sent per second", (q(f"sum by (sink) (rate(kubevigil_delivery_sent_total[{RATE}]))", "{{sink}}"),),
              "Items each sink accepted.", unit="ops"),
        Panel("Queue depth", (q("sum by (sink) (kubevigil_delivery_queue_depth)", "{{sink}}"),),
              "Items accepted and not yet delivered (journaled under state_dir)."),
        Panel("Oldest unsent item", (q("max by (sink) (kubevigil_delivery_oldest_unsent_age_seconds)", "{{sink}}"),),
              "A line that keeps rising is a sink that does not drain.", unit="s"),
        Panel("Failed sends, retries, dead letters per second", (
            q(f"sum by (sink) (rate(kubevigil_delivery_failed_total[{RATE}]))", "failed sends {{sink}}"),
            q(f"sum by (sink) (rate(kubevigil_delivery_retried_total[{RATE}]))", "retried {{sink}}"),
            q(f"sum by (sink) (rate(kubevigil_delivery_dead_lettered_total[{RATE}]))", "dead-lettered {{sink}}"),
        ), "Dead letters are never sent: <state_dir>/deadletter/<sink>.jsonl holds them with the reason.",
            unit="ops"),
        Panel("Send duration p99", (q("histogram_quantile(0.99, sum by (sink, le) "
                                      f"(rate(kubevigil_delivery_send_duration_seconds_bucket[{RATE}])))", "{{sink}}"),),
              "Time one send to the sink takes.", unit="s"),
    )),
    Row("Events (events)", (
        Panel("Events received and exported per second", (
            q(f"sum(rate(kubevigil_events_received_total[{RATE}]))", "received"),
            q(f"sum by (receiver) (rate(kubevigil_events_exported_total[{RATE}]))", "to {{receiver}}"),
        ), "Event occurrences seen by the watch, and records handed to each receiver's queue.", unit="ops"),
        Panel("Newest event age", (q("kubevigil_events_newest_event_age_seconds", "{{instance}}"),),
              "How old the newest event seen is: a quiet cluster or a blind watch.", unit="s"),
        Panel("Unrouted events per second", (q(f"sum(rate(kubevigil_events_unrouted_total[{RATE}]))", "unrouted"),),
              "Occurrences no route sent anywhere.", unit="ops"),
    )),
    Row("Checks (checks)", (
        Panel("Checks", (q("kuberhealthy_check", "{{namespace}}/{{check}}"),),
              "Each HealthCheck's last result (kuberhealthy's metric, for both kinds).", kind="state-timeline",
              width=24, options=HEALTH),
        Panel("Consecutive failures", (q("kuberhealthy_check_consecutive_failures", "{{namespace}}/{{check}}"),),
              "Failed runs in a row; the alert fires at 3."),
        Panel("Run duration", (q("kuberhealthy_check_duration_seconds", "{{namespace}}/{{check}}"),),
              "Duration of each check's last run.", unit="s"),
        Panel("Failed runs per hour", (
            q('sum by (namespace, healthcheck_name, workflow) (increase(healthcheck_error_count[1h]))',
              "{{namespace}}/{{healthcheck_name}} {{workflow}}"),
        ), "active-monitor's counts: failed checks (healthCheck) and failed remedies (remedy)."),
        Panel("Runs per second by result", (q(f"sum by (runner, result) (rate(kubevigil_checks_runs_total[{RATE}]))",
                                              "{{runner}} {{result}}"),),
              "Runs finished, by runner and result.", unit="ops"),
    )),
    Row("Capacity (scrape)", (
        Panel("IP addresses", (
            q(f"${{cni_prefix}}awscni_assigned_ip_addresses{{{SUMS}}}", "assigned {{CLUSTER_ID}}"),
            q(f"${{cni_prefix}}awscni_total_ip_addresses{{{SUMS}}}", "total {{CLUSTER_ID}}"),
            q(f"${{cni_prefix}}awscni_ip_max{{{SUMS}}}", "max {{CLUSTER_ID}}"),
        ), "cni-metrics-helper's cluster sums: assigned vs warm (total) vs the nodes' limit (max)."),
        Panel("IP addresses in use", (
            q(f"100 * ${{cni_prefix}}awscni_assigned_ip_addresses{{{SUMS}}} "
              f"/ ${{cni_prefix}}awscni_total_ip_addresses{{{SUMS}}}", "{{CLUSTER_ID}}"),
        ), "Assigned as a share of the addresses the nodes hold.", unit="percent"),
        Panel("ENIs", (
            q(f"${{cni_prefix}}awscni_eni_allocated{{{SUMS}}}", "allocated {{CLUSTER_ID}}"),
            q(f"${{cni_prefix}}awscni_eni_max{{{SUMS}}}", "max {{CLUSTER_ID}}"),
        ), "Elastic network interfaces attached vs the nodes' limit."),
        Panel("AWS API errors per second", (
            q(f"sum by (CLUSTER_ID) (rate(${{cni_prefix}}awscni_aws_api_error_count_total[{RATE}]))", "{{CLUSTER_ID}}"),
        ), "ipamd's failed AWS API calls, summed over every node.", unit="ops"),
        Panel("Pods scraped", (
            q('kubevigil_scrape_targets{state="scraped"} / ignoring (state) kubevigil_scrape_targets{state="expected"}',
              "{{job}}"),
        ), "Share of the expected pods that answered the last cycle; below 1 the sums are marked Partial.",
            unit="percentunit"),
        Panel("Scrape failures per second", (q(f"sum by (job, reason) (rate(kubevigil_scrape_failures_total[{RATE}]))",
                                               "{{job}} {{reason}}"),),
              "Pods that could not be scraped or parsed, by reason.", unit="ops"),
    )),
    Row("Process (any)", (
        Panel("Informer staleness", (q("max by (informer) (kubevigil_informer_stale_seconds)", "{{informer}}"),),
              "Seconds since each informer heard from the API server; past its bound the role is not ready.",
              unit="s"),
        Panel("Informers failing", (q("sum by (instance) (kubevigil_informer_failing)", "{{instance}}"),),
              "Informers whose requests to the API server fail."),
    )),
)

TYPE = "$type"
NETWORK = (
    Row("Network (nurse)", (
        Panel("Request duration p99", (
            q("histogram_quantile(0.99, sum by (type, le) (rate(kubenurse_httpclient_request_duration_seconds_bucket"
              f'{{type=~"{TYPE}"}}[{RATE}])))', "{{type}}"),
        ), "Answered requests, until the response headers (kubenurse's histogram).", unit="s"),
        Panel("Error ratio", (
            q(f'(sum by (type) (rate(kubenurse_errors_total{{type=~"{TYPE}"}}[{RATE}])) '
              f'or 0 * sum by (type) (rate(kubenurse_httpclient_requests_total{{type=~"{TYPE}"}}[{RATE}]))) '
              f'/ sum by (type) (rate(kubenurse_httpclient_requests_total{{type=~"{TYPE}"}}[{RATE}]))', "{{type}}"),
        ), "Failed checks as a share of all checks, per check type.", unit="percentunit"),
        Panel("Requests per second by code", (
            q(f'sum by (type, code) (rate(kubenurse_httpclient_requests_total{{type=~"{TYPE}"}}[{RATE}]))',
              "{{type}} {{code}}"),
        ), "HTTP status of each check, or round_trip_error when none came.", unit="ops"),
        Panel("Errors over 2 minutes", (
            q(f'sum by (instance, type, event) (increase(kubenurse_errors_total{{type=~"{TYPE}"}}[2m]))',
              "{{instance}}: {{type}} {{event}}"),
        ), "kubenurse's error view: per nurse, check type and error class (refused, timeout, dns, tls, …)."),
        Panel("Who reaches whom (error ratio, nurse x target node)", (
            q(f'(sum by (instance, type) (rate(kubenurse_errors_total{{type=~"path_.*"}}[{RATE}])) '
              f'or 0 * sum by (instance, type) (rate(kubenurse_httpclient_requests_total{{type=~"path_.*"}}[{RATE}]))) '
              f'/ sum by (instance, type) (rate(kubenurse_httpclient_requests_total{{type=~"path_.*"}}[{RATE}]))'),
        ), "Rows: the checking nurse; columns: path_<target node>; 0 reaches it, 1 never does.", kind="table",
            unit="percentunit", width=24,
            options={"matrix": {"rowField": "instance", "columnField": "type", "valueField": "Value"}}),
        Panel("Phase latency p99", (
            q("histogram_quantile(0.99, sum by (event, le) (rate(kubenurse_httpclient_trace_request_duration_seconds"
              f'_bucket{{type=~"{TYPE}"}}[{RATE}])))', "{{event}}"),
        ), "Seconds from the request's start to DNS, connect, TLS, first byte.", unit="s"),
        Panel("Incoming neighbour checks", (q("kubenurse_neighbourhood_incoming_checks", "{{instance}}"),),
              "Neighbours that checked each nurse in the last minute; kubenurse's ring gives each the same number."),
    )),
)


def _datasource_variable() -> dict[str, Any]:
    return {"name": "datasource", "label": "Prometheus", "type": "datasource", "query": "prometheus",
            "current": {}, "hide": 0, "refresh": 1, "options": []}


def _type_variable() -> dict[str, Any]:
    """kubenurse's own `type` choice, so its users find the same control."""
    values = ["api_server_direct", "api_server_dns", "me_ingress", "me_service", "path_.*"]
    return {"name": "type", "label": "check type", "type": "custom", "query": ",".join(values), "multi": True,
            "includeAll": True, "allValue": ".*", "current": {"text": ["All"], "value": ["$__all"]}, "hide": 0,
            "options": []}


def _prefix_variable() -> dict[str, Any]:
    return {"name": "cni_prefix", "label": "scrape metric prefix", "type": "textbox", "query": "kubevigil_",
            "current": {"text": "kubevigil_", "value": "kubevigil_"}, "hide": 0,
            "description": "The prometheus sink's prefix of the scrape role's cluster metrics ('' when run as "
                           "cni-metrics-helper with USE_PROMETHEUS)"}


def _panel(panel: Panel, pid: int, x: int, y: int) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": pid, "type": panel.kind, "title": panel.title, "description": panel.description,
        "datasource": DATASOURCE, "gridPos": {"h": 8, "w": panel.width, "x": x, "y": y},
        "fieldConfig": {"defaults": {"unit": panel.unit}, "overrides": []},
        "targets": [{"refId": chr(ord("A") + i), "datasource": DATASOURCE, "expr": t.expr,
                     "legendFormat": t.legend or "__auto", "range": panel.kind != "table",
                     "instant": panel.kind == "table", "format": "table" if panel.kind == "table" else "time_series"}
                    for i, t in enumerate(panel.queries)],
    }
    if "mappings" in panel.options:
        out["fieldConfig"]["defaults"]["mappings"] = panel.options["mappings"]
    if panel.kind == "stat":
        out["options"] = {"reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False},
                          "colorMode": "background"}
    elif panel.kind == "table":
        out["transformations"] = [{"id": "groupingToMatrix", "options": panel.options["matrix"]}]
    else:
        out["options"] = {"legend": {"displayMode": "list", "placement": "bottom", "showLegend": True},
                          "tooltip": {"mode": "multi", "sort": "desc"}}
    return out


def _panels(rows: tuple[Row, ...]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    y = 0
    for row in rows:
        out.append({"id": len(out) + 1, "type": "row", "title": row.title, "collapsed": False,
                    "gridPos": {"h": 1, "w": 24, "x": 0, "y": y}, "panels": []})
        y, x = y + 1, 0
        for panel in row.panels:
            if x + panel.width > 24:
                y, x = y + 8, 0
            out.append(_panel(panel, len(out) + 1, x, y))
            x += panel.width
        y += 8
    return out


def _dashboard(uid: str, title: str, description: str, rows: tuple[Row, ...],
               variables: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "uid": uid, "title": title, "description": description, "tags": ["kubevigil"], "editable": True,
        "graphTooltip": 1, "refresh": "30s", "schemaVersion": 39, "version": 1,
        "time": {"from": "now-3h", "to": "now"}, "timepicker": {}, "timezone": "",
        "annotations": {"list": []}, "links": [],
        "templating": {"list": [_datasource_variable(), *variables]},
        "panels": _panels(rows),
    }


def render() -> dict[str, str]:
    """File name -> JSON text of each dashboard."""
    dashboards = {
        "kubevigil.json": _dashboard(
            "kubevigil-overview", "kubevigil", "Heartbeat, delivery, events, checks, capacity and the process, from "
            "kubevigil's /metrics (deploy/monitoring; docs/monitoring.md).", OVERVIEW, [_prefix_variable()]),
        "kubevigil-network.json": _dashboard(
            "kubevigil-network", "kubevigil network (kubenurse)", "The nurse's checks under kubenurse's metric names: "
            "works for kubenurse and kubevigil's nurse alike.", NETWORK, [_type_variable()]),
    }
    return {name: json.dumps(body, indent=2, ensure_ascii=False) + "\n" for name, body in dashboards.items()}


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    for name, text in render().items():
        (OUT / name).write_text(text)


if __name__ == "__main__":
    main()
