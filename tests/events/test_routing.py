"""The route tree: event-exporter's semantics on the anchor config, throttle, dedupe, regex errors, occurrences."""

from __future__ import annotations

from typing import Any

import pytest
import yaml
from pydantic import ValidationError

from kubevigil.config.importers import event_exporter
from kubevigil.core.clock import ManualClock
from kubevigil.roles.events.config import EventsConfig
from kubevigil.roles.events.occurrences import from_events_v1, is_wanted, occurrence_count, occurrence_time
from kubevigil.roles.events.routing import Router
from tests.anchors import ANCHORS as ANCHOR_DIR

ANCHORS = ANCHOR_DIR / "kubernetes-event-exporter"


def event(namespace: str = "shop", type_: str = "Warning", kind: str = "Pod", api_version: str = "v1",
          labels: dict[str, str] | None = None, **extra: Any) -> dict[str, Any]:
    obj: dict[str, Any] = {"kind": kind, "name": "x", "namespace": namespace, "apiVersion": api_version}
    if labels:
        obj["labels"] = labels
    return {"metadata": {"namespace": namespace, "uid": "u"}, "involvedObject": obj, "type": type_,
            "reason": "R", "message": "m", "source": {"component": "kubelet"}, **extra}


@pytest.fixture(scope="module")
def anchor_router() -> Router:
    doc = yaml.safe_load((ANCHORS / "config.example.yaml").read_text())
    native, _ = event_exporter.translate(doc, ANCHORS / "config.example.yaml")
    return Router(EventsConfig.model_validate(native["events"]).route, ManualClock())


@pytest.mark.parametrize(
    ("ev", "count", "receivers"),
    [
        # dump always; alert+pipe unless dropped; slack for dev-labelled Pod/Deployment/ReplicaSet; firehose non-Normal
        (event(), 1, ["dump", "alert", "pipe", "firehose"]),
        (event(namespace="my-test-ns"), 1, ["dump", "firehose"]),  # drop *test* stops only its route
        (event(type_="Normal"), 1, ["dump", "alert", "pipe"]),  # Normal: dropped by the firehose route
        # the second drop rule needs all of type, minCount and apiVersion
        (event(type_="Normal", api_version="batch/v1beta1"), 4, ["dump", "alert", "pipe"]),
        (event(type_="Normal", api_version="batch/v1beta1"), 5, ["dump"]),
        (event(labels={"version": "dev"}), 1, ["dump", "alert", "pipe", "slack", "firehose"]),
        (event(kind="Deployment", labels={"version": "dev-2"}), 1, ["dump", "alert", "pipe", "slack", "firehose"]),
        (event(kind="Node", labels={"version": "dev"}), 1, ["dump", "alert", "pipe", "firehose"]),
        (event(labels={"other": "dev"}), 1, ["dump", "alert", "pipe", "firehose"]),  # label must be present
    ],
)
def test_anchor_routes(anchor_router: Router, ev: dict[str, Any], count: int, receivers: list[str]) -> None:
    assert anchor_router.route(ev, count).receivers == receivers


def router(route: dict[str, Any], clock: ManualClock | None = None) -> Router:
    return Router(EventsConfig.model_validate({"route": route}).route, clock or ManualClock())


def test_subroutes_run_only_when_every_match_rule_matched() -> None:
    r = router({"match": [{"type": "Warning", "receiver": "a"}, {"kind": "Pod"}],
                "routes": [{"match": [{"receiver": "sub"}]}]})
    assert r.route(event(), 1).receivers == ["a", "sub"]
    assert r.route(event(kind="Node"), 1).receivers == ["a"]
    assert r.route(event(type_="Normal"), 1).receivers == []


def test_drop_stops_the_subtree_and_is_counted_by_route() -> None:
    r = router({"routes": [{"drop": [{"reason": "^R$"}], "match": [{"receiver": "a"}],
                            "routes": [{"match": [{"receiver": "b"}]}]}, {"match": [{"receiver": "c"}]}]})
    decision = r.route(event(), 1)
    assert decision.receivers == ["c"]
    assert decision.dropped == ["root.0"]


def test_unanchored_search_and_fallback_to_reporting_controller() -> None:
    r = router({"match": [{"component": "sched", "host": "inst-1", "message": "m$", "receiver": "a"}]})
    new_style = event(source={}, reportingComponent="default-scheduler", reportingInstance="inst-1-x")
    assert r.route(new_style, 1).receivers == ["a"]


def test_throttle_per_key_per_window() -> None:
    clock = ManualClock()
    r = router({"routes": [{"throttle": {"limit": 2, "window_seconds": 60}, "match": [{"receiver": "a"}]}]}, clock)
    got = [r.route(event(), 1).receivers for _ in range(3)]
    assert got == [["a"], ["a"], []]
    assert r.route(event(namespace="other"), 1).receivers == ["a"]  # another key
    clock._mono += 61
    assert r.route(event(), 1).receivers == ["a"]


def test_dedupe_collapses_repeats_within_window() -> None:
    clock = ManualClock()
    r = router({"routes": [{"dedupe": {"window_seconds": 10}, "match": [{"receiver": "a"}]}]}, clock)
    assert r.route(event(), 1).receivers == ["a"]
    assert r.route(event(), 2).deduped == ["root.0"]
    clock._mono += 11
    assert r.route(event(), 3).receivers == ["a"]


def test_bad_regex_is_a_load_error_naming_rule_and_glob_hint() -> None:
    with pytest.raises(ValidationError) as err:
        EventsConfig.model_validate({"route": {"routes": [{"drop": [{"namespace": "*test*"}]}]}})
    text = str(err.value)
    assert "route.routes.0.drop.0" in text
    assert "namespace: '*test*' is not a valid regular expression" in text
    assert "'.*test.*'" in text
    with pytest.raises(ValidationError, match=r"labels.app: '\(x' is not a valid"):
        EventsConfig.model_validate({"route": {"match": [{"labels": {"app": "(x"}, "receiver": "a"}]}})


def test_occurrence_count_time_and_repeats() -> None:
    assert occurrence_count({"count": 3}) == 3
    assert occurrence_count({"series": {"count": 7}, "count": 0}) == 7
    assert occurrence_count({}) == 1
    assert occurrence_time({"lastTimestamp": "2024-01-01T00:00:10Z", "firstTimestamp": "2024-01-01T00:00:00Z"}, 0) \
        == 1704067210
    assert occurrence_time({"series": {"lastObservedTime": "2024-01-01T00:00:20.5Z"}}, 0) == 1704067220.5
    assert occurrence_time({}, 42.0) == 42.0
    assert [is_wanted(c, last, "all") for c, last in ((1, None), (2, 1), (2, 2), (5, 2))] == [True, True, False, True]
    assert [is_wanted(c, last, "first") for c, last in ((1, None), (2, 1), (3, 2))] == [True, True, False]
    assert [is_wanted(c, last, "none") for c, last in ((4, None), (2, 1))] == [True, False]


def test_events_k8s_io_v1_becomes_core_shape() -> None:
    ev = from_events_v1({"metadata": {"uid": "u", "namespace": "a"}, "regarding": {"kind": "Pod", "name": "p"},
                         "note": "hello", "reason": "R", "type": "Normal", "reportingController": "kubelet",
                         "reportingInstance": "n1", "series": {"count": 4, "lastObservedTime": "2024-01-01T00:00:00Z"},
                         "eventTime": "2024-01-01T00:00:00.000000Z"})
    assert ev["message"] == "hello" and ev["involvedObject"]["kind"] == "Pod"
    assert ev["reportingComponent"] == "kubelet" and occurrence_count(ev) == 4
    r = router({"match": [{"component": "kubelet", "host": "n1", "receiver": "a"}]})
    assert r.route(ev, 4).receivers == ["a"]
