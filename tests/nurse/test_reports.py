"""What goes to sinks (p99/error rate per class, transition records) and the incoming-checks count."""

from __future__ import annotations

from kubevigil.core.clock import ManualClock
from kubevigil.roles.nurse.incoming import IncomingChecks
from kubevigil.roles.nurse.probe import Outcome
from kubevigil.roles.nurse.summary import Summary, p99
from kubevigil.roles.nurse.transitions import Source, Transitions

SOURCE = Source("prod", "nurse-a", "n-a", "z1")


def outcome(kind: str, ok: bool, at: float = 100.0, seconds: float | None = 0.01) -> Outcome:
    return Outcome(kind, ok, 200 if ok else None, None if ok else "timeout", seconds if ok else None, (),
                   "ok" if ok else "timeout: no answer within 6s", at)


def test_summary_per_class_with_bounded_dimensions() -> None:
    summary = Summary("prod", "n-a")
    for i in range(100):
        summary.add(outcome(f"path_n{i % 7}", ok=i % 10 != 0, seconds=0.001 * (i + 1)))
    summary.add(outcome("api_server_direct", ok=True, seconds=0.02))
    metrics = {(m.name, dict(m.dimensions)["Check"]): m for m in summary.drain(1000.0)}
    assert metrics[("NurseCheckCount", "neighbours")].value == 100
    assert metrics[("NurseCheckErrorRate", "neighbours")].value == 10.0
    assert round(metrics[("NurseCheckLatencyP99", "neighbours")].value, 6) == 0.1  # of the 90 answered
    assert metrics[("NurseCheckLatencyP99", "neighbours")].unit == "Seconds"
    assert metrics[("NurseCheckErrorRate", "api_server_direct")].value == 0.0
    assert {tuple(sorted(dict(m.dimensions))) for m in metrics.values()} == {("Check", "Cluster", "Node")}
    assert summary.drain(1060.0) == []  # nothing checked: nothing sent, never a stale value


def test_p99_nearest_rank() -> None:
    assert p99([0.5]) == 0.5
    assert p99([float(i) for i in range(1, 101)]) == 99.0


def test_transitions_bad_after_fail_after_ok_after_recover_after() -> None:
    t = Transitions(fail_after=3, recover_after=2)
    kinds = []
    for i, ok in enumerate([True, False, False, True, False, False, False, False, True, True, True]):
        record = t.update(outcome("path_n-b", ok, at=float(i)), SOURCE)
        if record is not None:
            kinds.append((i, record.body["state"]))
    assert kinds == [(6, "bad"), (9, "ok")]  # one blip (1, 2) pages nobody


def test_bad_record_body_and_stable_id() -> None:
    t = Transitions(fail_after=1, recover_after=1)
    record = t.update(outcome("path_n-b", False, at=123.5), SOURCE)
    assert record is not None
    assert record.id == "nurse/prod/nurse-a/path_n-b/bad/123500"
    body = record.body
    assert body["message"] == "n-a cannot reach node n-b (timeout, 1 rounds)"
    assert (body["check"], body["class"], body["target_node"], body["event"]) == (
        "path_n-b", "neighbours", "n-b", "timeout")
    assert body["source"] == {"pod": "nurse-a", "node": "n-a", "zone": "z1"}


def test_a_bad_check_whose_neighbour_left_is_closed_as_gone() -> None:
    t = Transitions(fail_after=1, recover_after=1)
    t.update(outcome("path_n-b", False), SOURCE)
    t.update(outcome("path_n-c", True), SOURCE)
    gone = t.forget("path_n-b", 200.0, SOURCE)
    assert gone is not None and gone.body["state"] == "gone"
    assert t.forget("path_n-c", 200.0, SOURCE) is None  # it was fine: nothing to close
    assert t.bad() == []


def test_incoming_checks_expire_after_a_minute() -> None:
    clock = ManualClock()
    incoming = IncomingChecks(clock)
    incoming.seen("nurse-b")
    incoming.seen("nurse-c")
    assert incoming.count() == 2
    clock._mono += 30
    incoming.seen("nurse-b")
    clock._mono += 31
    assert incoming.origins() == ["nurse-b"]
