"""Per-kind health and the fold to one target verdict, on plain dicts as the API returns them."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime
from typing import Any

import pytest

from kubevigil.roles.status.config import AtLeast, Percent, Target
from kubevigil.roles.status.health import evaluate
from kubevigil.roles.status.targets import TargetTracker, fold

NOW = 1_700_000_000.0


def iso(t: float) -> str:
    return datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def deploy(replicas: int = 3, available: int = 3, updated: int | None = None, total: int | None = None,
           gen: int = 2, observed: int = 2, conditions: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return {
        "metadata": {"name": "web", "namespace": "shop", "generation": gen},
        "spec": {"replicas": replicas},
        "status": {
            "observedGeneration": observed, "replicas": replicas if total is None else total,
            "updatedReplicas": replicas if updated is None else updated, "readyReplicas": available,
            "availableReplicas": available,
            "conditions": conditions if conditions is not None else [
                {"type": "Available", "status": "True"}, {"type": "Progressing", "status": "True",
                                                           "reason": "NewReplicaSetAvailable"}],
        },
    }


def test_deployment_all_available_is_healthy() -> None:
    assert evaluate("Deployment", deploy(), "AllOfThem", NOW).state == "healthy"


def test_deployment_compares_spec_replicas_not_status_replicas() -> None:
    # The original compared status.replicas with readyReplicas: 3 of 5 wanted looks fine there.
    h = evaluate("Deployment", deploy(replicas=5, available=3), "AllOfThem", NOW)
    assert h.state == "unhealthy"
    assert h.reason == "3 of 5 replicas available, AllOfThem needs 5"


def test_deployment_unobserved_generation_is_progressing() -> None:
    h = evaluate("Deployment", deploy(gen=3, observed=2), "AllOfThem", NOW)
    assert h.state == "progressing" and "generation 3" in h.reason


def test_deployment_old_pods_left_is_a_rollout() -> None:
    h = evaluate("Deployment", deploy(replicas=3, available=2, updated=1, total=4), "AllOfThem", NOW)
    assert h.state == "progressing" and h.reason.startswith("rolling out")


def test_deployment_stuck_rollout_is_unhealthy() -> None:
    conds = [{"type": "Progressing", "status": "False", "reason": "ProgressDeadlineExceeded",
              "message": 'ReplicaSet "web-1" has timed out progressing.'}]
    h = evaluate("Deployment", deploy(updated=1, total=4, conditions=conds), "AllOfThem", NOW)
    assert h.state == "unhealthy" and "timed out" in h.reason


def test_deployment_available_false_fails_all_of_them() -> None:
    conds = [{"type": "Available", "status": "False", "reason": "MinimumReplicasUnavailable"}]
    assert evaluate("Deployment", deploy(conditions=conds), "AllOfThem", NOW).reason.endswith(
        "MinimumReplicasUnavailable")


@pytest.mark.parametrize(("mode", "available", "state"), [
    ("AtLeastOne", 0, "unhealthy"), ("AtLeastOne", 1, "healthy"),
    (AtLeast(AtLeast=2), 1, "unhealthy"), (AtLeast(AtLeast=2), 2, "healthy"),
    (Percent(Percent=50), 1, "unhealthy"), (Percent(Percent=50), 2, "healthy"),
])
def test_deployment_modes(mode: Any, available: int, state: str) -> None:
    # AtLeastOne is not inverted: 0 ready is unhealthy.
    assert evaluate("Deployment", deploy(replicas=4, available=available), mode, NOW).state == state


def test_statefulset_revision_change_is_rollout_then_ready_count() -> None:
    sts = {"metadata": {"generation": 1}, "spec": {"replicas": 2},
           "status": {"observedGeneration": 1, "readyReplicas": 2, "currentRevision": "a", "updateRevision": "b"}}
    assert evaluate("StatefulSet", sts, "AllOfThem", NOW).state == "progressing"
    sts["status"].update(currentRevision="b", readyReplicas=1)
    assert evaluate("StatefulSet", sts, "AllOfThem", NOW).reason == "1 of 2 replicas available, AllOfThem needs 2"


def test_daemonset_uses_desired_number_scheduled() -> None:
    ds = {"metadata": {"generation": 1}, "status": {"observedGeneration": 1, "desiredNumberScheduled": 3,
                                                     "numberAvailable": 2, "updatedNumberScheduled": 3}}
    assert evaluate("DaemonSet", ds, "AllOfThem", NOW).reason == "2 of 3 pods available, AllOfThem needs 3"
    assert evaluate("DaemonSet", ds, "AtLeastOne", NOW).state == "healthy"


def test_replicaset() -> None:
    rs = {"metadata": {"generation": 1}, "spec": {"replicas": 2},
          "status": {"observedGeneration": 1, "availableReplicas": 2}}
    assert evaluate("ReplicaSet", rs, "AllOfThem", NOW).state == "healthy"


def test_job_states() -> None:
    assert evaluate("Job", {"status": {"conditions": [{"type": "Complete", "status": "True"}]}},
                    "AllOfThem", NOW).state == "healthy"
    failed = {"status": {"conditions": [{"type": "Failed", "status": "True", "reason": "BackoffLimitExceeded"}]}}
    assert evaluate("Job", failed, "AllOfThem", NOW).reason == "failed: BackoffLimitExceeded"
    assert evaluate("Job", {"status": {"active": 1}}, "AllOfThem", NOW).state == "progressing"


def cron(**status: Any) -> dict[str, Any]:
    return {"metadata": {"creationTimestamp": iso(NOW - 86400)}, "spec": {"schedule": "0 * * * *"},
            "status": status}


def test_cronjob_recent_success_is_healthy() -> None:
    assert evaluate("CronJob", cron(lastScheduleTime=iso(NOW - 600), lastSuccessfulTime=iso(NOW - 550)),
                    "AllOfThem", NOW).state == "healthy"


def test_cronjob_last_run_failed() -> None:
    h = evaluate("CronJob", cron(lastScheduleTime=iso(NOW - 600), lastSuccessfulTime=iso(NOW - 4200)),
                 "AllOfThem", NOW)
    assert h.reason == "last scheduled run did not succeed"


def test_cronjob_too_old_by_schedule_period() -> None:
    # Hourly schedule: max_age defaults to two periods (7200 s).
    h = evaluate("CronJob", cron(lastScheduleTime=iso(NOW - 8000), lastSuccessfulTime=iso(NOW - 7900)),
                 "AllOfThem", NOW)
    assert h.state == "unhealthy" and "max_age 7200s" in h.reason
    assert evaluate("CronJob", cron(lastScheduleTime=iso(NOW - 8000), lastSuccessfulTime=iso(NOW - 7900)),
                    "AllOfThem", NOW, max_age=9000).state == "healthy"


def test_cronjob_suspended_and_bad_schedule() -> None:
    obj = cron()
    obj["spec"]["suspend"] = True
    assert evaluate("CronJob", obj, "AllOfThem", NOW).reason == "suspended"
    obj = cron()
    obj["spec"]["schedule"] = "every day"
    assert "not a cron expression" in evaluate("CronJob", obj, "AllOfThem", NOW).reason


def test_pod_node_pvc() -> None:
    running = {"status": {"phase": "Running", "conditions": [{"type": "Ready", "status": "True"}]}}
    assert evaluate("Pod", running, "AllOfThem", NOW).state == "healthy"
    crash = {"status": {"phase": "Running", "conditions": [{"type": "Ready", "status": "False"}],
                        "containerStatuses": [{"name": "app", "state": {"waiting": {"reason": "CrashLoopBackOff"}}}]}}
    assert evaluate("Pod", crash, "AllOfThem", NOW).reason == "not ready: app: CrashLoopBackOff"
    node = {"status": {"conditions": [{"type": "Ready", "status": "False", "reason": "KubeletNotReady"}]}}
    assert evaluate("Node", node, "AllOfThem", NOW).reason == "NotReady: KubeletNotReady"
    assert evaluate("PersistentVolumeClaim", {"status": {"phase": "Pending"}}, "AllOfThem", NOW).reason == \
        "Pending, not Bound"


def test_fold_named_target_not_found() -> None:
    t = Target(kind="Deployment", namespace="shop", name="web")
    assert fold(t, Counter(), {}, {}).reason == "not found"


def test_fold_counts_objects_for_node_mode() -> None:
    t = Target(kind="Node", mode=AtLeast(AtLeast=2))
    tr = TargetTracker(t, since=NOW)
    tr.set(("", "a"), evaluate("Node", {"status": {"conditions": [{"type": "Ready", "status": "True"}]}}, "AllOfThem", NOW))
    tr.set(("", "b"), evaluate("Node", {"status": {}}, "AllOfThem", NOW))
    assert not tr.refold(NOW + 1)  # unhealthy before (nothing seen yet) and after: `since` stays
    assert tr.health.reason == "1 of 2 healthy, AtLeast 2 needs 2: b: no Ready condition"
    assert tr.value == 0 and tr.since == NOW
    tr.set(("", "b"), evaluate("Node", {"status": {"conditions": [{"type": "Ready", "status": "True"}]}}, "AllOfThem", NOW))
    assert tr.refold(NOW + 2) and tr.value == 1 and tr.since == NOW + 2


def test_progressing_counts_per_during_rollout() -> None:
    rolling = evaluate("Deployment", deploy(gen=3, observed=2), "AllOfThem", NOW)
    for setting, value in (("healthy", 1), ("unhealthy", 0)):
        tr = TargetTracker(Target(kind="Deployment", namespace="shop", name="web", during_rollout=setting), NOW)
        tr.set(("shop", "web"), rolling)
        tr.refold(NOW)
        assert (tr.health.state, tr.value) == ("progressing", value)
