"""The `events:` section: what to watch, the checkpoint, the route tree (event-exporter's, plus throttle/dedupe)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import ClassVar, Literal

from pydantic import Field, field_validator, model_validator

from kubevigil.core.model import Model, Section, SinkRef
from kubevigil.core.patterns import compile_pattern, glob_hint

REGEX_FIELDS = ("message", "api_version", "kind", "namespace", "reason", "type", "component", "host")
YAML_NAMES = {"api_version": "apiVersion"}
DEFAULT_THROTTLE_KEY = ("metadata.namespace", "involvedObject.kind", "involvedObject.name", "reason")
DEFAULT_DEDUPE_KEY = ("metadata.namespace", "involvedObject.kind", "involvedObject.name", "reason", "message")


def check_regex(field: str, pattern: str) -> str:
    try:
        compile_pattern(pattern)
    except ValueError as exc:
        hint = f"; if you meant a glob, write {glob_hint(pattern)!r}" if "*" in pattern or "?" in pattern else ""
        raise ValueError(f"{field}: {pattern!r} is not a valid regular expression (RE2 syntax: {exc}){hint}") from None
    return pattern


class Rule(Model):
    """event-exporter's rule: every given field is an unanchored regex search; all must match."""

    message: str | None = None
    api_version: str | None = Field(None, alias="apiVersion")
    kind: str | None = None
    namespace: str | None = None
    reason: str | None = None
    type: str | None = None
    component: str | None = None
    host: str | None = None
    labels: dict[str, str] = Field(default_factory=dict)
    annotations: dict[str, str] = Field(default_factory=dict)
    min_count: int = Field(0, alias="minCount", ge=0)
    receiver: str | None = None

    @model_validator(mode="after")
    def _regexes(self) -> Rule:
        for name in REGEX_FIELDS:
            value = getattr(self, name)
            if value:
                check_regex(YAML_NAMES.get(name, name), value)
        for key, value in self.labels.items():
            check_regex(f"labels.{key}", value)
        for key, value in self.annotations.items():
            check_regex(f"annotations.{key}", value)
        return self


class Throttle(Model):
    """At most `limit` events per key per `window_seconds` pass this route; the rest are counted as throttled."""

    limit: int = Field(ge=1)
    window_seconds: float = Field(gt=0)
    key: tuple[str, ...] = DEFAULT_THROTTLE_KEY


class Dedupe(Model):
    """Events with the same key within `window_seconds` of the first are collapsed into that first one."""

    window_seconds: float = Field(gt=0)
    key: tuple[str, ...] = DEFAULT_DEDUPE_KEY


class Route(Model):
    drop: tuple[Rule, ...] = ()
    match: tuple[Rule, ...] = ()
    routes: tuple[Route, ...] = ()
    throttle: Throttle | None = None
    dedupe: Dedupe | None = None


class Enrichment(Model):
    """Involved-object metadata, fetched once per object and kept in an LRU with a TTL."""

    enabled: bool = True
    cache_size: int = Field(10_000, ge=1)
    ttl_seconds: float = Field(300, gt=0)
    fetch_timeout_seconds: float = Field(5, gt=0)


class MetricsOut(Model):
    """Per period, to metric sinks: events seen, Warnings among them, and per receiver what was exported and how its
    delivery stands, so a CloudWatch dashboard shows where events went when the cluster's Prometheus is gone."""

    sinks: list[str] = Field(default_factory=list, description="Metric sinks (cloudwatch, emf …) that get them")
    seconds: float = Field(60.0, ge=1, le=86_400, description="Period")


class EventsConfig(Section):
    moved_keys: ClassVar[Mapping[str, str]] = {
        "leader_election": "the top-level `leader_election:` section (one Lease for the whole process)"}

    api: Literal["core", "events.k8s.io"] = "core"
    namespace: str | None = None  # None: all namespaces
    repeats: Literal["all", "first", "none"] = "all"
    max_event_age_seconds: float = Field(5, ge=0)
    checkpoint: Literal["file", "configmap"] = "file"
    checkpoint_configmap: str = "kubevigil-events-checkpoint"
    route: Route = Route()
    enrichment: Enrichment = Enrichment()
    metrics: MetricsOut = MetricsOut()
    stale_after_seconds: float = Field(
        120, gt=0, le=86400,
        description="/readyz fails once the watch has not heard from the API server for this long")

    @field_validator("namespace")
    @classmethod
    def _namespace(cls, value: str | None) -> str | None:
        return value or None

    def receivers(self) -> list[str]:
        """The sinks the route tree sends records to, in order of first mention."""
        return list(dict.fromkeys(name for _, name, _ in _route_refs(self.route, ("route",))))

    def sink_refs(self) -> Iterable[SinkRef]:
        yield from _route_refs(self.route, ("route",))
        for i, name in enumerate(self.metrics.sinks):
            yield ("metrics", "sinks", i), name, "metric"


def _route_refs(route: Route, loc: tuple[str | int, ...]) -> Iterable[SinkRef]:
    for i, rule in enumerate(route.match):
        if rule.receiver:
            yield (*loc, "match", i, "receiver"), rule.receiver, "record"
    for i, rule in enumerate(route.drop):
        if rule.receiver:
            yield (*loc, "drop", i, "receiver"), rule.receiver, "record"
    for i, sub in enumerate(route.routes):
        yield from _route_refs(sub, (*loc, "routes", i))

