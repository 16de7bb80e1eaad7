"""What panels are made of: bounded histories, recent Warnings, delivery figures from the registry, the text
filters, and a panel whose data cannot be read."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

import pytest
from prometheus_client import CollectorRegistry

from kubevigil.config.settings import WebSettings
from kubevigil.core.clock import ManualClock
from kubevigil.core.history import History
from kubevigil.core.readiness import Readiness
from kubevigil.delivery.metrics import DeliveryMetrics
from kubevigil.roles.events.recent import MESSAGE_CHARS, RecentWarnings
from kubevigil.roles.nurse.panel import worst_paths
from kubevigil.roles.registry import ROLES
from kubevigil.roles.role import PodIdentity, Role
from kubevigil.web import panels, render, samples
from kubevigil.web.page import section
from kubevigil.web.process import Process


def test_history_is_bounded_by_points_and_age_and_stays_in_time_order() -> None:
    h: History[int] = History(max_points=3, max_age=100.0)
    for at in (0.0, 10.0, 20.0, 30.0):
        h.add(at, int(at))
    assert list(h) == [(10.0, 10), (20.0, 20), (30.0, 30)]
    h.add(25.0, 99)  # out of order: dropped
    h.add(125.0, 1)
    assert list(h) == [(30.0, 30), (125.0, 1)] and h.since(100.0) == [(125.0, 1)] and len(h) == 2
    with pytest.raises(ValueError):
        History(0, 1.0)


def event(reason: str, name: str = "web-1", namespace: str = "shop", kind: str = "Pod", message: str = "m"
          ) -> dict[str, Any]:
    return {"reason": reason, "message": message, "count": 2, "type": "Warning", "source": {"component": "kubelet"},
            "involvedObject": {"kind": kind, "namespace": namespace, "name": name}}


def test_recent_warnings_count_per_minute_and_keep_the_latest() -> None:
    recent = RecentWarnings(kept=3, minutes=5)
    for at, reason in ((0.0, "Old"), (300.0, "BackOff"), (310.0, "BackOff"), (420.0, "Failed"), (430.0, "BackOff")):
        recent.add(at, event(reason, name=reason.lower()))
    assert recent.total == 5
    assert recent.rate(now=450.0) == [(180.0, 0), (240.0, 0), (300.0, 2), (360.0, 0), (420.0, 2)]
    assert [w.reason for w in recent.latest()] == ["BackOff", "Failed", "BackOff"]  # newest first, 3 kept
    reasons, objects = recent.top(since=305.0, limit=1)
    assert reasons == [("BackOff", 2)] and objects == [("Pod shop/backoff", 2)]
    recent.add(1000.0, event("Late", message="x" * 5000))
    assert recent.rate(now=1000.0)[-1] == (960.0, 1) and len(recent.latest()[0].message) == MESSAGE_CHARS
    assert recent.latest()[0].object == "Pod shop/web-1"


def test_delivery_comes_from_the_registry() -> None:
    registry = CollectorRegistry()
    metrics = DeliveryMetrics(registry)
    ok, down = metrics.for_sink("file"), metrics.for_sink("hook")
    ok.sent.inc(7)
    down.failed.inc(3)
    down.dead_lettered.inc(2)
    metrics.watch("file", lambda: 0.0, lambda: 0.0, lambda: 0.0)
    metrics.watch("hook", lambda: 12.0, lambda: 95.0, lambda: 1.0)
    assert samples.delivery(registry) == [
        {"sink": "file", "sent": 7.0, "failed_attempts": 0.0, "queued": 0.0, "oldest_unsent_seconds": 0.0,
         "dead_letters": 0.0, "access_denied": 0.0, "behind": False},
        {"sink": "hook", "sent": 0.0, "failed_attempts": 3.0, "queued": 12.0, "oldest_unsent_seconds": 95.0,
         "dead_letters": 2.0, "access_denied": 1.0, "behind": True},
    ]


def test_worst_paths_put_errors_and_silent_nurses_first_then_the_slowest() -> None:
    matrix = {"a": {"b": {"ok": True, "seconds": 0.9}, "c": {"ok": False, "event": "timeout", "seconds": None}},
              "b": {"a": {"ok": True, "seconds": 0.01}}}
    sources = {"a": {"reachable": True}, "b": {"reachable": True}, "c": {"reachable": False, "error": "TimeoutError"}}
    assert [(p["from"], p["to"], p["ok"]) for p in worst_paths(matrix, sources)] == [
        ("a", "c", False), ("c", None, False), ("a", "b", True), ("b", "a", True)]


@pytest.mark.parametrize(("seconds", "text"), [(None, "\u2013"), (0.0123, "12 ms"), (1.44, "1.4 s"), (200, "3m 20s"),
                                               (7500, "2h 5m"), (90000, "1d 1h")])
def test_durations_read_as_a_person_says_them(seconds: float | None, text: str) -> None:
    assert render.span(seconds) == text


def test_times_relative_and_absolute() -> None:
    assert render.ago(90.0, 100.0) == "10.0 s ago" and render.ago(112.0, 100.0) == "in 12.0 s"
    assert render.utc(0.0) == "1970-01-01 00:00:00 UTC" and render.utc(None) == ""
    assert render.number(3.0) == "3" and render.number(1234.5) == "1,234.50" and render.number(None) == "\u2013"


class Broken(Role):
    name = "status"

    async def run(self) -> None:
        """Never run: the page only reads it."""


def process(roles: Mapping[str, Role], standby: bool = False) -> Process:
    clock = ManualClock()
    ready = Readiness(True, "standby: kv-1 leads (lease kv/kubevigil)") if standby else Readiness(False, "watch failing")
    return Process("c", roles, lambda: {"role:status": ready},
                   lambda: {"version": "0", "leader_election": None, "roles": {}, "informers": []},
                   lambda name: standby, CollectorRegistry(), clock, None, PodIdentity("kv-0"),
                   WebSettings.model_validate({}), clock.now())


async def test_a_panel_whose_data_fails_says_so_and_the_rest_of_the_page_stays(monkeypatch: pytest.MonkeyPatch
                                                                              ) -> None:
    async def failing(role: Role, query: Mapping[str, str]) -> dict[str, Any] | None:
        raise RuntimeError("http://user:secret@host/ went away")

    monkeypatch.setitem(ROLES, "status", replace(ROLES["status"], panel=failing))
    proc = process({"status": Broken()})
    data = await panels.data(proc, "status", {})
    assert data == {"unavailable": "RuntimeError while reading the status role's state"}  # no exception text
    html = section("status", data, {}, 0.0)
    assert "unavailable" in html and "secret" not in html
    info = await panels.data(proc, "process", {})
    assert info is not None and info["ready"] is False and info["parts"][0]["detail"] == "watch failing"
    assert panels.names(proc) == ["status", "process"]


async def test_a_role_waiting_for_the_lease_says_who_leads_instead_of_showing_its_old_state(
        monkeypatch: pytest.MonkeyPatch) -> None:
    async def stale(role: Role, query: Mapping[str, str]) -> dict[str, Any] | None:
        raise AssertionError("a standby's panel must not read the role's state")

    monkeypatch.setitem(ROLES, "status", replace(ROLES["status"], panel=stale))
    data = await panels.data(process({"status": Broken()}, standby=True), "status", {})
    assert data == {"unavailable": "standby: kv-1 leads (lease kv/kubevigil)"}


def test_the_page_lists_the_roles_whose_spec_has_a_panel(monkeypatch: pytest.MonkeyPatch) -> None:
    assert all(spec.panel is not None for spec in ROLES.values())
    monkeypatch.setitem(ROLES, "status", replace(ROLES["status"], panel=None))
    assert panels.names(process({"status": Broken()})) == ["process"]
