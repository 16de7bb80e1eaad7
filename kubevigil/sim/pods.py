"""Pods as controllers build them from templates, and the readiness questions controllers ask about them."""

from __future__ import annotations

import copy
import json
import random
from datetime import datetime

from kubevigil.kube.resources import by_kind

POD = by_kind("Pod")
NODE = by_kind("Node")

# k8s.io/apimachinery/pkg/util/rand: no vowels, no 0/1/3, so generated names never spell words.
NAME_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"


def random_suffix(rng: random.Random, length: int = 5) -> str:
    return "".join(rng.choice(NAME_ALPHABET) for _ in range(length))


def fnv32a(data: bytes) -> int:
    value = 0x811C9DC5
    for byte in data:
        value ^= byte
        value = (value * 0x01000193) & 0xFFFFFFFF
    return value


def safe_encode(value: int) -> str:
    """rand.SafeEncodeString of the decimal form, as pod-template-hash values are written."""
    return "".join(NAME_ALPHABET[ord(ch) % len(NAME_ALPHABET)] for ch in str(value))


def template_hash(template: dict, collision_count: int = 0) -> str:
    """A stable hash of a pod template (what Deployment and DaemonSet controllers label their children with)."""
    data = json.dumps(template, sort_keys=True, separators=(",", ":")).encode() + str(collision_count).encode()
    return safe_encode(fnv32a(data))


def owner_reference(owner: dict) -> dict:
    meta = owner["metadata"]
    return {"apiVersion": owner["apiVersion"], "kind": owner["kind"], "name": meta["name"], "uid": meta["uid"],
            "controller": True, "blockOwnerDeletion": True}


def controller_uid(obj: dict) -> str | None:
    for ref in obj["metadata"].get("ownerReferences") or []:
        if ref.get("controller"):
            return ref.get("uid")
    return None


def owned_by(objs: list[dict], owner: dict) -> list[dict]:
    uid = owner["metadata"]["uid"]
    return [o for o in objs if controller_uid(o) == uid]


def pod_from_template(template: dict, owner: dict, name: str, extra_labels: dict[str, str]) -> dict:
    """A new Pod object for `owner` from its spec.template, as the owning controller posts it."""
    tmeta = template.get("metadata") or {}
    labels = {**(tmeta.get("labels") or {}), **extra_labels}
    meta: dict = {"name": name, "namespace": owner["metadata"]["namespace"], "labels": labels,
                  "ownerReferences": [owner_reference(owner)]}
    if tmeta.get("annotations"):
        meta["annotations"] = dict(tmeta["annotations"])
    spec = copy.deepcopy(template.get("spec") or {})
    spec.setdefault("restartPolicy", "Always")
    spec.setdefault("dnsPolicy", "ClusterFirst")
    spec.setdefault("schedulerName", "default-scheduler")
    spec.setdefault("terminationGracePeriodSeconds", 30)
    spec.setdefault("serviceAccountName", "default")
    spec.setdefault("enableServiceLinks", True)
    spec.setdefault("tolerations", [
        {"key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300},
        {"key": "node.kubernetes.io/unreachable", "operator": "Exists", "effect": "NoExecute",
         "tolerationSeconds": 300},
    ])
    return {"apiVersion": "v1", "kind": "Pod", "metadata": meta, "spec": spec,
            "status": {"phase": "Pending", "qosClass": qos_class(spec)}}


def qos_class(spec: dict) -> str:
    """Guaranteed / Burstable / BestEffort from container requests and limits, as the API server derives it."""
    containers = spec.get("containers") or []
    resources = [c.get("resources") or {} for c in containers]
    if not any(r.get("requests") or r.get("limits") for r in resources):
        return "BestEffort"
    for res in resources:
        limits = res.get("limits") or {}
        requests = res.get("requests") or limits
        if not all(limits.get(k) and requests.get(k) == limits.get(k) for k in ("cpu", "memory")):
            return "Burstable"
    return "Guaranteed"


def condition(obj: dict, type_: str) -> dict | None:
    for cond in (obj.get("status") or {}).get("conditions") or []:
        if cond.get("type") == type_:
            return cond
    return None


def is_terminating(pod: dict) -> bool:
    return bool(pod["metadata"].get("deletionTimestamp"))


def is_active(pod: dict) -> bool:
    """Counts towards a controller's replicas: not finished, not being deleted."""
    phase = (pod.get("status") or {}).get("phase")
    return phase not in ("Succeeded", "Failed") and not is_terminating(pod)


def is_ready(pod: dict) -> bool:
    cond = condition(pod, "Ready")
    return bool(cond and cond.get("status") == "True")


def parse_time(text: str) -> float:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def is_available(pod: dict, min_ready_seconds: int, now: float) -> bool:
    """Ready for at least minReadySeconds (podutil.IsPodAvailable)."""
    if not is_ready(pod):
        return False
    if min_ready_seconds <= 0:
        return True
    since = (condition(pod, "Ready") or {}).get("lastTransitionTime")
    return since is not None and parse_time(since) + min_ready_seconds <= now


def set_condition(conditions: list[dict], type_: str, status: str, now_text: str, reason: str = "",
                  message: str = "", probe_time: bool = False) -> None:
    """Upsert one condition in place; lastTransitionTime moves only when the status flips."""
    for cond in conditions:
        if cond["type"] == type_:
            if cond.get("status") != status:
                cond["lastTransitionTime"] = now_text
            cond["status"] = status
            _set_reason(cond, reason, message)
            return
    cond = {"type": type_, "status": status, "lastTransitionTime": now_text}
    if probe_time:
        cond["lastProbeTime"] = None
    _set_reason(cond, reason, message)
    conditions.append(cond)


def _set_reason(cond: dict, reason: str, message: str) -> None:
    for key, value in (("reason", reason), ("message", message)):
        if value:
            cond[key] = value
        else:
            cond.pop(key, None)


def node_is_ready(node: dict) -> bool:
    cond = condition(node, "Ready")
    return bool(cond and cond.get("status") == "True")


def node_ip(node: dict) -> str:
    for addr in (node.get("status") or {}).get("addresses") or []:
        if addr.get("type") == "InternalIP":
            return addr["address"]
    return ""
