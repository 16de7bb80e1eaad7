"""When a check turns bad or recovers: one Record per transition, so a sink such as SNS can page on it."""

from __future__ import annotations

from dataclasses import dataclass

from kubevigil.core.signals import Record
from kubevigil.roles.nurse.probe import Outcome
from kubevigil.roles.nurse.summary import check_class

OK, BAD, GONE = "ok", "bad", "gone"


@dataclass(slots=True)
class _State:
    state: str = OK
    streak: int = 0  # consecutive rounds against the current state
    since: float = 0.0
    event: str | None = None


@dataclass(frozen=True, slots=True)
class Source:
    """The nurse that made the checks."""

    cluster: str
    pod: str
    node: str
    zone: str = ""


class Transitions:
    """Each check's state (ok until `fail_after` failed rounds in a row, bad until `recover_after` good ones)."""

    def __init__(self, fail_after: int, recover_after: int) -> None:
        self.fail_after = fail_after
        self.recover_after = recover_after
        self._states: dict[str, _State] = {}

    def update(self, outcome: Outcome, source: Source) -> Record | None:
        st = self._states.setdefault(outcome.check_type, _State(since=outcome.finished_at))
        against = outcome.ok if st.state == BAD else not outcome.ok
        st.streak = st.streak + 1 if against else 0
        if not outcome.ok:
            st.event = outcome.event
        needed = self.recover_after if st.state == BAD else self.fail_after
        if st.streak < needed:
            return None
        st.state, st.streak, st.since = (OK if st.state == BAD else BAD), 0, outcome.finished_at
        return _record(outcome.check_type, st.state, st.event, outcome.detail, st.since, source, needed)

    def forget(self, check_type: str, now: float, source: Source) -> Record | None:
        """The check is no longer made (its neighbour left): a bad one is closed with state `gone`."""
        st = self._states.pop(check_type, None)
        if st is None or st.state != BAD:
            return None
        return _record(check_type, GONE, st.event, "no longer checked (the neighbour left)", now, source, 0)

    def bad(self) -> list[str]:
        return sorted(k for k, s in self._states.items() if s.state == BAD)


def _record(check_type: str, state: str, event: str | None, detail: str, at: float, source: Source,
            rounds: int) -> Record:
    target = check_type[len("path_"):] if check_type.startswith("path_") else None
    who = source.node or source.pod
    what = f"node {target}" if target else check_type
    verb = {BAD: "cannot reach", OK: "reaches", GONE: "stopped checking"}[state]
    message = f"{who} {verb} {what}" + (f" ({event}, {rounds} rounds)" if state == BAD else "")
    body = {
        "kind": "NurseCheck", "state": state, "check": check_type, "class": check_class(check_type),
        "cluster": source.cluster, "message": message, "detail": detail, "event": event if state == BAD else None,
        "source": {"pod": source.pod, "node": source.node, "zone": source.zone},
        "target_node": target, "since": at,
    }
    record_id = f"nurse/{source.cluster}/{source.pod}/{check_type}/{state}/{int(at * 1000)}"
    return Record(record_id, at, body)
