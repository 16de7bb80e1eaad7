"""event-exporter's route tree with its semantics, plus per-route throttle and dedupe."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from kubevigil.core.clock import Clock
from kubevigil.core.patterns import Pattern, compile_pattern
from kubevigil.roles.events.config import Route, Rule
from kubevigil.roles.events.throttle import WindowCounter, event_key


@dataclass(frozen=True, slots=True)
class EventView:
    """The fields rules match on, taken once per event."""

    message: str
    api_version: str
    kind: str
    namespace: str
    reason: str
    type: str
    component: str
    host: str
    labels: dict[str, str]
    annotations: dict[str, str]
    count: int

    @classmethod
    def of(cls, event: dict[str, Any], count: int) -> EventView:
        obj = event.get("involvedObject") or {}
        source = event.get("source") or {}
        return cls(
            message=str(event.get("message") or ""),
            api_version=str(obj.get("apiVersion") or ""),
            kind=str(obj.get("kind") or ""),
            namespace=str((event.get("metadata") or {}).get("namespace") or ""),
            reason=str(event.get("reason") or ""),
            type=str(event.get("type") or ""),
            # New-style events carry reportingController/-Instance instead of source.
            component=str(source.get("component") or event.get("reportingComponent") or ""),
            host=str(source.get("host") or event.get("reportingInstance") or ""),
            labels=obj.get("labels") or {},
            annotations=obj.get("annotations") or {},
            count=count,
        )


@dataclass(frozen=True, slots=True)
class CompiledRule:
    checks: tuple[tuple[str, Pattern], ...]
    labels: tuple[tuple[str, Pattern], ...]
    annotations: tuple[tuple[str, Pattern], ...]
    min_count: int
    receiver: str | None

    @classmethod
    def of(cls, rule: Rule) -> CompiledRule:
        fields = ("message", "api_version", "kind", "namespace", "reason", "type", "component", "host")
        return cls(
            checks=tuple((f, compile_pattern(getattr(rule, f))) for f in fields if getattr(rule, f)),
            labels=tuple((k, compile_pattern(v)) for k, v in rule.labels.items()),
            annotations=tuple((k, compile_pattern(v)) for k, v in rule.annotations.items()),
            min_count=rule.min_count,
            receiver=rule.receiver,
        )

    def matches(self, ev: EventView) -> bool:
        for name, pattern in self.checks:
            if pattern.search(getattr(ev, name)) is None:
                return False
        for key, pattern in self.labels:
            if key not in ev.labels or pattern.search(ev.labels[key]) is None:
                return False
        for key, pattern in self.annotations:
            if key not in ev.annotations or pattern.search(ev.annotations[key]) is None:
                return False
        return ev.count >= self.min_count


@dataclass
class Decision:
    """Where one event goes, and why it did not go elsewhere (route paths like "0.1")."""

    receivers: list[str] = field(default_factory=list)
    dropped: list[str] = field(default_factory=list)
    throttled: list[str] = field(default_factory=list)
    deduped: list[str] = field(default_factory=list)


@dataclass
class CompiledRoute:
    path: str
    drop: tuple[CompiledRule, ...]
    match: tuple[CompiledRule, ...]
    routes: tuple[CompiledRoute, ...]
    admit: Callable[[dict[str, Any]], str | None]  # None, "throttled" or "deduped"

    def process(self, ev: EventView, event: dict[str, Any], out: Decision) -> None:
        for rule in self.drop:
            if rule.matches(ev):
                out.dropped.append(self.path)
                return
        verdict = self.admit(event)
        if verdict == "throttled":
            out.throttled.append(self.path)
            return
        if verdict == "deduped":
            out.deduped.append(self.path)
            return
        matches_all = True
        for rule in self.match:
            if rule.matches(ev):
                if rule.receiver and rule.receiver not in out.receivers:
                    out.receivers.append(rule.receiver)
            else:
                matches_all = False
        if matches_all:
            for sub in self.routes:
                sub.process(ev, event, out)


def _admitter(route: Route, clock: Clock) -> Callable[[dict[str, Any]], str | None]:
    throttle = WindowCounter(route.throttle.limit, route.throttle.window_seconds, clock) if route.throttle else None
    dedupe = WindowCounter(1, route.dedupe.window_seconds, clock) if route.dedupe else None

    def admit(event: dict[str, Any]) -> str | None:
        if dedupe is not None and route.dedupe and not dedupe.admit(event_key(event, route.dedupe.key)):
            return "deduped"
        if throttle is not None and route.throttle and not throttle.admit(event_key(event, route.throttle.key)):
            return "throttled"
        return None

    return admit


def compile_route(route: Route, clock: Clock, path: str = "root") -> CompiledRoute:
    return CompiledRoute(
        path=path,
        drop=tuple(CompiledRule.of(r) for r in route.drop),
        match=tuple(CompiledRule.of(r) for r in route.match),
        routes=tuple(compile_route(sub, clock, f"{path}.{i}") for i, sub in enumerate(route.routes)),
        admit=_admitter(route, clock),
    )


class Router:
    """Decides the receivers of each event; compiled once from the config."""

    def __init__(self, route: Route, clock: Clock) -> None:
        self.root = compile_route(route, clock)

    def route(self, event: dict[str, Any], count: int) -> Decision:
        out = Decision()
        self.root.process(EventView.of(event, count), event, out)
        return out
