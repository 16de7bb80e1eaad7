"""The scrape role's panel on the web page ("Capacity"): each job's completeness and its cluster values over time.

For cni-metrics-helper's names the values are grouped the way an SRE reads them: IP addresses assigned against
total, ENIs allocated against the maximum, AWS API errors per cycle. Any job also gets its latest cluster values
and, with `breakdown`, one row per node or subnet.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from kubevigil.roles.scrape.jobs import HISTORY_SECONDS, JobRunner
from kubevigil.roles.scrape.publishing import partial
from kubevigil.roles.scrape.role import ScrapeRole

# (chart title, [(series label, value name)]) drawn when the job produces those names
CHARTS: tuple[tuple[str, tuple[tuple[str, str], ...]], ...] = (
    ("IP addresses", (("assigned", "assignIPAddresses"), ("total", "totalIPAddresses"))),
    ("ENIs", (("allocated", "eniAllocated"), ("max", "eniMaxAvailable"))),
    ("AWS API errors per cycle", (("AWS API", "awsAPIErr"), ("EC2 API", "ec2ApiErrCount"))),
)
BREAKDOWN_ROWS = 50
FAILURES_SHOWN = 10


async def panel(role: ScrapeRole, query: Mapping[str, str]) -> dict[str, Any] | None:
    """None until a job has finished a cycle."""
    jobs = [_job(r) for r in role.runners if r.last is not None]
    if not jobs:
        return None
    return {"now": role.ctx.clock.now(), "window_seconds": HISTORY_SECONDS, "cluster_id": role.cluster_id,
            "jobs": jobs}


def _job(runner: JobRunner) -> dict[str, Any]:
    last = runner.last
    assert last is not None
    points = list(runner.history)
    names = set(points[-1][1].values) if points else set()
    charts = [{"title": title, "series": {label: [[at, p.values.get(name)] for at, p in points]
                                          for label, name in series if name in names}}
              for title, series in CHARTS if any(name in names for _, name in series)]
    charts.append({"title": "Pods scraped", "series": {
        "expected": [[at, p.expected] for at, p in points], "scraped": [[at, p.scraped] for at, p in points]}})
    rows: dict[str, dict[str, float]] = {}
    for v in last.values:
        if v.breakdown is not None and not v.groups:
            rows.setdefault(v.breakdown, {})[v.rule.name] = v.value
    return {
        "name": runner.job.name, "via": runner.job.via, "interval": runner.job.interval,
        "at": last.at, "expected": last.expected, "scraped": last.scraped, "failed": last.failed,
        "partial": partial(runner.job, last),
        "failures": [{"pod": f.pod, "reason": f.reason, "detail": f.detail} for f in last.failures[:FAILURES_SHOWN]],
        "values": {v.rule.name: v.value for v in last.values if not v.groups and v.breakdown is None},
        "charts": charts,
        "breakdown": [{"key": key, "values": values} for key, values in sorted(rows.items())[:BREAKDOWN_ROWS]],
    }
