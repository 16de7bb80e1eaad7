"""`kubevigil status create-alarm`: the recommended CloudWatch alarm on the heartbeat (below 1, or missing)."""

from __future__ import annotations

import math
from typing import Any

from kubevigil.sinks.aws import call, make_client
from kubevigil.sinks.sink import SinkError

DEFAULT_PERIODS = 3
HIGH_RESOLUTION_PERIODS = (10, 20, 30)


class AlarmError(Exception):
    """The alarm cannot be built from this config, or CloudWatch refused it."""


def alarm_period(seconds: float, storage_resolution: int) -> int:
    """The shortest alarm period CloudWatch allows that still holds at least one published value."""
    if storage_resolution == 1:
        for period in HIGH_RESOLUTION_PERIODS:
            if seconds <= period:
                return period
    return max(60, math.ceil(seconds / 60) * 60)


def _cloudwatch_sink(settings: Any) -> tuple[str, Any]:
    for name in settings.role("status").sinks:
        entry = settings.sinks[name]
        if entry.type == "cloudwatch":
            return name, entry.params
    raise AlarmError(f"status.sinks {settings.role('status').sinks} names no `cloudwatch` sink; the alarm needs one")


def alarm_request(settings: Any, *, periods: int = DEFAULT_PERIODS, actions: tuple[str, ...] = ()) -> dict[str, Any]:
    """PutMetricAlarm arguments: Minimum < 1 for `periods` periods in a row, missing data counts as breaching."""
    status = settings.role("status")
    if status is None:
        raise AlarmError("the config has no `status` section")
    _, params = _cloudwatch_sink(settings)
    metric = status.metric
    dims = dict(metric.dimensions)
    if metric.cluster_dimension:
        dims[metric.cluster_dimension] = settings.cluster.name
    name = f"kubevigil-heartbeat-{params.namespace}-{metric.name}"
    if dims:
        name += "-" + "-".join(f"{k}={v}" for k, v in sorted(dims.items()))
    request: dict[str, Any] = {
        "AlarmName": name[:255],
        "AlarmDescription": "kubevigil status heartbeat below 1 (a target unhealthy) or missing (kubevigil down)",
        "Namespace": params.namespace,
        "MetricName": metric.name,
        "Dimensions": [{"Name": k, "Value": v} for k, v in sorted(dims.items())],
        "Statistic": "Minimum",
        "Period": alarm_period(status.seconds, params.storage_resolution),
        "EvaluationPeriods": periods,
        "DatapointsToAlarm": periods,
        "Threshold": 1.0,
        "ComparisonOperator": "LessThanThreshold",
        "TreatMissingData": "breaching",
    }
    if actions:
        request["AlarmActions"] = list(actions)
        request["OKActions"] = list(actions)
    return request


async def create_alarm(settings: Any, dry_run: bool, *, periods: int = DEFAULT_PERIODS,
                       actions: tuple[str, ...] = ()) -> dict[str, Any]:
    """Create (or update) the alarm; with dry_run only return what would be sent."""
    request = alarm_request(settings, periods=periods, actions=actions)
    if not dry_run:
        _, params = _cloudwatch_sink(settings)
        client = make_client("cloudwatch", params)
        try:
            await call(client.put_metric_alarm, **request)
        except SinkError as exc:
            raise AlarmError(f"CloudWatch PutMetricAlarm {request['AlarmName']}: {exc}") from exc
        finally:
            client.close()
    return request
