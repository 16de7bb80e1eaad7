"""The CloudWatch dashboard of a config: a widget for each thing the enabled roles publish there, and nothing else.

Every metric a widget names is one the config makes kubevigil publish (same namespace, name, dimension names and
values). Series whose dimension values are only known at run time (targets, nodes, checks) are found with SEARCH
expressions whose schema lists exactly the dimension names the role publishes.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from kubevigil.roles.status.alarm import alarm_period

METRIC_SINKS = ("cloudwatch", "emf")  # sink types whose metrics end up in CloudWatch
WIDTH, HEIGHT, COLUMNS = 12, 6, 2
CHECK_PERIOD = 300  # checks run on their own schedules; five minutes holds a run of most

# cni-metrics-helper's rule names shown together: its users' capacity alarms watch these.
CNI_WIDGETS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("IP addresses", "Maximum", ("assignIPAddresses", "totalIPAddresses", "maxIPAddresses")),
    ("ENIs", "Maximum", ("eniAllocated", "eniMaxAvailable")),
    # ipamd's other error counters exist only once such an error happened: a widget of them would stay empty.
    ("AWS API errors", "Sum", ("awsAPIErr",)),
    ("AWS API latency p99 (ms)", "Maximum", ("awsAPILatency",)),
)
_PLAIN_NAME = re.compile(r"^\w+$")


class DashboardError(Exception):
    """The dashboard cannot be built from this config (one line saying why)."""


@dataclass(frozen=True)
class Place:
    """Where one metric sink's values land in CloudWatch."""

    namespace: str
    region: str
    resolution: int  # 1 or 60 (storage resolution)


def dashboard(settings: Any, default_region: str | None) -> dict[str, Any]:
    """The dashboard body (`{"widgets": [...]}`) for the roles and CloudWatch metric sinks `settings` enables."""
    widgets = [*_status(settings, default_region), *_events(settings, default_region),
               *_scrape(settings, default_region), *_nurse(settings, default_region),
               *_checks(settings, default_region)]
    logs = list(_events_logs(settings, default_region))
    if not widgets and not logs:
        raise DashboardError(
            "no role sends metrics to a `cloudwatch` or `emf` sink (or events to `cloudwatch_logs`): the dashboard "
            "would be empty")
    return {"widgets": _laid_out([_header(settings), *widgets, *logs])}


def dashboard_name(settings: Any) -> str:
    """`kubevigil-<cluster>`, with the characters PutDashboard refuses replaced by `-`."""
    return re.sub(r"[^A-Za-z0-9_-]", "-", f"kubevigil-{settings.cluster.name}")[:255]


def places(settings: Any, sink_names: Iterable[str], default_region: str | None) -> list[Place]:
    """The distinct CloudWatch places of the named sinks (sinks of other types publish elsewhere)."""
    found: list[Place] = []
    for name in sink_names:
        entry = settings.sinks[name]
        if entry.type not in METRIC_SINKS:
            continue
        region = getattr(entry.params, "region", None) or default_region
        if not region:
            raise DashboardError(f"sinks.{name}: no AWS region (set `region` on the sink, or AWS_REGION)")
        place = Place(entry.params.namespace, region, entry.params.storage_resolution)
        if place not in found:
            found.append(place)
    return found


def search(place: Place, metric: str, dimensions: Iterable[str], filters: dict[str, str], stat: str,
           period: int) -> str:
    """A SEARCH expression for `metric` with exactly `dimensions`, where the `filters` dimensions have these values."""
    schema = ",".join([_name(place.namespace), *(_name(d) for d in sorted(dimensions))])
    terms = [f"MetricName={_value(metric)}", *(f"{_name(k)}={_value(v)}" for k, v in sorted(filters.items()))]
    return f"SEARCH('{{{schema}}} {' '.join(terms)}', '{stat}', {period})"


# ---- roles ---------------------------------------------------------------------------------------------------------

def _status(settings: Any, region: str | None) -> Iterator[dict[str, Any]]:
    section = settings.role("status")
    if section is None:
        return
    m = section.metric
    dims = dict(m.dimensions)
    if m.cluster_dimension:
        dims[m.cluster_dimension] = settings.cluster.name
    for place in places(settings, section.sinks, region):
        period = alarm_period(section.seconds, place.resolution)
        yield _graph(f"Heartbeat {m.name} (1 healthy, 0 not, missing: kubevigil down)", place, period,
                     [_metric(place, m.name, dims, stat="Minimum", label=m.name)],
                     y_range=(0, 1), hline=(1.0, "healthy"))
        if section.per_target:
            expr = search(place, m.name, [*dims, m.target_dimension], dims, "Minimum", period)
            yield _graph("Heartbeat per target (0 = unhealthy)", place, period, [_expression(expr, "")],
                         y_range=(0, 1))


def _events(settings: Any, region: str | None) -> Iterator[dict[str, Any]]:
    section = settings.role("events")
    if section is None:
        return
    base = {"Cluster": settings.cluster.name}
    receivers = section.receivers()
    for place in places(settings, section.metrics.sinks, region):
        period = alarm_period(section.metrics.seconds, place.resolution)
        yield _graph("Events seen per period", place, period,
                     [_metric(place, name, base, stat="Sum", label=label)
                      for name, label in (("EventsReceived", "all"), ("EventsWarnings", "Warnings"))])
        for metric, stat, title in (
                ("EventsExported", "Sum", "Events exported per receiver"),
                ("DeliveryQueueDepth", "Maximum", "Receivers' queues: items not yet delivered"),
                ("DeliveryOldestUnsentAge", "Maximum", "Receivers' oldest undelivered item (s)"),
                ("DeliveryDeadLettered", "Sum", "Receivers' dead letters (never delivered)")):
            yield _graph(title, place, period, [_metric(place, metric, {**base, "Receiver": r}, stat=stat, label=r)
                                                for r in receivers])


def _scrape(settings: Any, region: str | None) -> Iterator[dict[str, Any]]:
    section = settings.role("scrape")
    if section is None:
        return
    targets = places(settings, section.sinks, region)
    if not targets:
        return
    cluster_id = section.cluster_id or os.environ.get("AWS_CLUSTER_ID")  # the role's own order, IMDS aside
    if not cluster_id:
        raise DashboardError(
            "scrape: the cluster id is only known at run time (instance tags); set scrape.cluster_id or "
            "AWS_CLUSTER_ID to build the dashboard")
    base = {section.cluster_dimension: cluster_id}
    for place in targets:
        for job in section.jobs:
            period = alarm_period(job.interval, place.resolution)
            rules = {r.name: r for r in job.rule_list()}
            shown: list[str] = []
            for title, stat, names in _rule_widgets(job, rules):
                series = [_rule_series(place, rules[n], base, stat, period) for n in names if n in rules]
                if series:
                    shown += [n for n in names if n in rules]
                    yield _graph(f"{title} ({job.name})", place, period, series)
            completeness = {**base, section.job_dimension: job.name}
            yield _graph(f"Scrape completeness ({job.name}): pods expected, scraped, failed", place, period,
                         [_metric(place, name, completeness, stat="Minimum" if name.endswith("Scraped") else "Maximum",
                                  label=name) for name in ("scrapeTargetsExpected", "scrapeTargetsScraped",
                                                           "scrapeTargetsFailed")])
            if job.breakdown is not None:
                broken = job.breakdown.rules or shown
                for name in [n for n in shown if n in broken]:
                    dims = [*base, *rules[name].group_by, job.breakdown.dimension_name]
                    stat = "Sum" if rules[name].aggregate == "delta" else "Maximum"
                    expr = search(place, name, dims, base, stat, period)
                    yield _graph(f"{name} per {job.breakdown.dimension_name} ({job.name})", place, period,
                                 [_expression(expr, "")])


def _rule_widgets(job: Any, rules: dict[str, Any]) -> list[tuple[str, str, tuple[str, ...]]]:
    """cni-metrics-helper's capacity widgets for its rule set; one widget of every rule for other rule lists."""
    if job.rules == "cni-metrics-helper":
        return list(CNI_WIDGETS)
    return [("Values", "Maximum", tuple(rules))]


def _rule_series(place: Place, rule: Any, base: dict[str, str], stat: str, period: int) -> list[Any] | dict[str, Any]:
    if rule.aggregate == "delta":
        stat = "Sum"  # increases per cycle: their sum is the increase over the period
    if rule.group_by:
        return _expression(search(place, rule.name, [*base, *rule.group_by], base, stat, period), rule.name)
    return _metric(place, rule.name, base, stat=stat, label=rule.name)


def _nurse(settings: Any, region: str | None) -> Iterator[dict[str, Any]]:
    section = settings.role("nurse")
    if section is None:
        return
    classes = [name for name, on in (("api_server_direct", section.api_server.direct),
                                     ("api_server_dns", section.api_server.dns),
                                     ("me_service", section.service_url is not None),
                                     ("me_ingress", section.ingress_url is not None)) if on]
    classes += list(section.extra_checks)
    if section.neighbours.enabled:
        classes.append("neighbours")
    dims = ["Check", "Cluster", "Node"]
    for place in places(settings, section.metrics.sinks, region):
        period = alarm_period(section.metrics.seconds, place.resolution)
        for metric, stat, title in (("NurseCheckLatencyP99", "Maximum", "Nurse p99 latency (s), worst node"),
                                    ("NurseCheckErrorRate", "Maximum", "Nurse error rate (%), worst node")):
            series = [_expression(f"MAX({search(place, metric, dims, _nurse_filter(settings, c), stat, period)})", c)
                      for c in classes]
            yield _graph(title, place, period, series)
        if section.neighbours.enabled:
            expr = search(place, "NurseCheckErrorRate", dims, _nurse_filter(settings, "neighbours"), "Maximum", period)
            yield _graph("Neighbour checks error rate (%) per node", place, period, [_expression(expr, "")])


def _nurse_filter(settings: Any, check_class: str) -> dict[str, str]:
    return {"Cluster": settings.cluster.name, "Check": check_class}


def _checks(settings: Any, region: str | None) -> Iterator[dict[str, Any]]:
    section = settings.role("checks")
    if section is None:
        return
    dims = ["Cluster", "HealthCheck", "Namespace"]
    cluster = {"Cluster": settings.cluster.name}
    for place in places(settings, section.sinks.metrics, region):
        results = search(place, "HealthCheckSucceeded", dims, cluster, "Minimum", CHECK_PERIOD)
        yield _graph("Health checks (0 = a run failed)", place, CHECK_PERIOD, [_expression(results, "")],
                     y_range=(0, 1))
        ratio = search(place, "HealthCheckSucceeded", dims, cluster, "Average", CHECK_PERIOD)
        yield _graph("Health check failed runs (%)", place, CHECK_PERIOD, [_expression(f"100 * (1 - {ratio})", "")])


def _events_logs(settings: Any, region: str | None) -> Iterator[dict[str, Any]]:
    """Events written to CloudWatch Logs: what arrived there, read from the log group."""
    section = settings.role("events")
    if section is None:
        return
    for name in section.receivers():
        entry = settings.sinks[name]
        if entry.type != "cloudwatch_logs":
            continue
        group = entry.params.log_group_name
        where = entry.params.region or region
        if not where:
            raise DashboardError(f"sinks.{name}: no AWS region (set `region` on the sink, or AWS_REGION)")
        if entry.params.layout is None:  # the event document itself: its fields are known
            query = (f"SOURCE '{group}' | filter type = \"Warning\" | stats count(*) as warnings by reason "
                     "| sort warnings desc | limit 20")
            title = f"Warning events by reason ({group})"
        else:
            query = f"SOURCE '{group}' | stats count(*) as events by bin(5m)"
            title = f"Events delivered to {group}"
        yield {"type": "log", "properties": {"query": query, "region": where, "title": title, "view": "table"}}


# ---- widgets -------------------------------------------------------------------------------------------------------

def _header(settings: Any) -> dict[str, Any]:
    roles = [r for r in ("status", "scrape", "nurse", "checks", "events") if settings.role(r) is not None]
    text = (f"# kubevigil: cluster `{settings.cluster.name}`\n"
            f"Roles configured: {', '.join(roles)}. Generated by `kubevigil dashboards cloudwatch` from the config; "
            "a missing line means nothing was published (kubevigil down or blind), never healthy.")
    return {"type": "text", "width": 24, "height": 2, "properties": {"markdown": text}}


def _metric(place: Place, name: str, dims: dict[str, str], *, stat: str, label: str) -> list[Any]:
    flat: list[Any] = [place.namespace, name]
    for key, value in sorted(dims.items()):
        flat += [key, value]
    return [*flat, {"stat": stat, "label": label}]


def _expression(expr: str, label: str) -> dict[str, Any]:
    return {"expression": expr, "label": label}


def _graph(title: str, place: Place, period: int, series: Sequence[list[Any] | dict[str, Any]], *,
           y_range: tuple[float, float] | None = None, hline: tuple[float, str] | None = None) -> dict[str, Any]:
    metrics: list[Any] = []
    for i, item in enumerate(series):
        metrics.append([{**item, "id": f"e{i + 1}"}] if isinstance(item, dict) else item)
    props: dict[str, Any] = {"title": title, "region": place.region, "view": "timeSeries", "stacked": False,
                             "period": period, "metrics": metrics}
    if y_range is not None:
        props["yAxis"] = {"left": {"min": y_range[0], "max": y_range[1]}}
    if hline is not None:
        props["annotations"] = {"horizontal": [{"value": hline[0], "label": hline[1]}]}
    return {"type": "metric", "properties": props}


def _laid_out(widgets: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Full-width widgets on rows of their own, the others two to a row, top to bottom in the given order."""
    y = column = 0
    out = []
    for widget in widgets:
        width, height = widget.get("width", WIDTH), widget.get("height", HEIGHT)
        if column and (width > WIDTH or column == COLUMNS):
            y, column = y + HEIGHT, 0
        out.append({**widget, "x": column * WIDTH, "y": y, "width": width, "height": height})
        if width > WIDTH:
            y += height
        else:
            column += 1
    return out


def _name(name: str) -> str:
    """A namespace or dimension name in a SEARCH expression: quoted unless it is a plain word (or AWS-style path)."""
    return name if _PLAIN_NAME.match(name.replace("/", "_")) else _value(name)


def _value(value: str) -> str:
    if any(c in value for c in "\"'\\"):
        raise DashboardError(f"{value!r}: a dashboard search cannot hold quotes or backslashes; rename it")
    return f'"{value}"'


# ---- AWS -----------------------------------------------------------------------------------------------------------

def default_region() -> str | None:
    """The region the standard AWS chain gives (AWS_REGION, AWS_DEFAULT_REGION, the config file), or None."""
    import boto3

    region: str | None = boto3.session.Session().region_name
    return region


async def put_dashboard(settings: Any, name: str, body: dict[str, Any]) -> list[str]:
    """PutDashboard through the first `cloudwatch` sink's endpoint and timeouts; returns CloudWatch's warnings."""
    import json

    from kubevigil.sinks.aws import AwsParams, call, make_client
    from kubevigil.sinks.sink import SinkError

    if not re.fullmatch(r"[A-Za-z0-9_-]{1,255}", name):
        raise DashboardError(f"dashboard name {name!r}: 1-255 letters, digits, '-' or '_'")
    params = next((e.params for e in settings.sinks.values() if e.type == "cloudwatch"), None)
    client = make_client("cloudwatch", params or AwsParams.model_validate({}))
    try:
        answer = await call(client.put_dashboard, DashboardName=name, DashboardBody=json.dumps(body))
    except SinkError as exc:
        raise DashboardError(f"CloudWatch PutDashboard {name}: {exc}") from exc
    finally:
        client.close()
    return [m.get("Message", str(m)) for m in answer.get("DashboardValidationMessages", [])]
