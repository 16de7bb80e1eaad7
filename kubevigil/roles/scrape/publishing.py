"""A cycle's values as Metrics: per-cycle values for `sinks`, cluster gauges and counters for `prometheus_sinks`."""

from __future__ import annotations

from kubevigil.core.signals import Metric
from kubevigil.roles.scrape.aggregation import Value
from kubevigil.roles.scrape.config import Job, ScrapeSection
from kubevigil.roles.scrape.jobs import CycleReport

Dims = tuple[tuple[str, str], ...]

COMPLETENESS_METRICS = ("scrapeTargetsExpected", "scrapeTargetsScraped", "scrapeTargetsFailed")


def partial(job: Job, report: CycleReport) -> bool:
    return report.completeness < job.completeness.min


def cycle_metrics(section: ScrapeSection, job: Job, report: CycleReport, cluster_id: str) -> list[Metric]:
    """One datum per value of the cycle, stamped with the cycle's start, plus the cycle's completeness."""
    base = ((section.cluster_dimension, cluster_id),)
    marker = _marker(job, report)
    out: list[Metric] = []
    for v in report.values:
        if v.instant and marker is None and partial(job, report):
            continue  # withheld: a sum over the pods that answered would read as a drop
        dims = _dims(job, base, v, marker if v.instant else None)
        out.append(Metric(v.rule.name, v.value, report.at, v.rule.unit, "gauge", dims))
    job_dims = tuple(sorted((*base, (section.job_dimension, job.name))))
    for name, count in zip(COMPLETENESS_METRICS, (report.expected, report.scraped, report.failed), strict=True):
        out.append(Metric(name, float(count), report.at, "Count", "gauge", job_dims))
    return out


def exposed_metrics(section: ScrapeSection, job: Job, report: CycleReport, cluster_id: str) -> list[Metric]:
    """Cluster values under the exporter's names: gauges for instant values and means, counters for increases."""
    base = ((section.cluster_dimension, cluster_id),)
    marker = _marker(job, report)
    out: list[Metric] = []
    for v in report.values:
        name = v.rule.exposed_name
        if v.rule.aggregate == "delta":
            if v.total is not None:
                out.append(Metric(name, v.total, report.at, v.rule.exposed_unit, "counter", _dims(job, base, v, None)))
            continue
        if v.instant and marker is None and partial(job, report):
            continue
        out.append(Metric(name, v.value, report.at, v.rule.exposed_unit, "gauge",
                          _dims(job, base, v, marker if v.instant else None)))
    return out


def _marker(job: Job, report: CycleReport) -> tuple[str, str] | None:
    if partial(job, report) and job.completeness.below == "mark":
        return (job.completeness.dimension, "true")
    return None


def _dims(job: Job, base: Dims, v: Value, marker: tuple[str, str] | None) -> Dims:
    dims = dict(base)
    dims.update(v.groups)
    if v.breakdown is not None and job.breakdown is not None:
        dims[job.breakdown.dimension_name] = v.breakdown
    if marker is not None:
        dims[marker[0]] = marker[1]
    return tuple(sorted(dims.items()))
