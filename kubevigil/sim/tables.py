"""Server-side printing (meta.k8s.io/v1 Table): the columns `kubectl get` shows for each kind on a real cluster."""

from __future__ import annotations

import calendar
import time
from collections.abc import Callable
from typing import Any

from kubevigil.kube.resources import Resource

Row = Callable[[dict, float], list[Any]]


def _ts(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return calendar.timegm(time.strptime(value[:19], "%Y-%m-%dT%H:%M:%S"))
    except ValueError:
        return None


def human_duration(seconds: float) -> str:
    """kubectl's short age format: 45s, 5m10s, 3h, 2d4h, 400d."""
    s = int(max(0, seconds))
    if s < 120:
        return f"{s}s"
    m = s // 60
    if m < 10:
        return f"{m}m{s % 60}s" if s % 60 else f"{m}m"
    if m < 180:
        return f"{m}m"
    h = m // 60
    if h < 8:
        return f"{h}h{m % 60}m" if m % 60 else f"{h}h"
    if h < 48:
        return f"{h}h"
    d = h // 24
    if d < 8:
        return f"{d}d{h % 24}h" if h % 24 else f"{d}d"
    return f"{d}d" if d < 365 * 2 else f"{d // 365}y"


def age(obj: dict, now: float) -> str:
    created = _ts(obj["metadata"].get("creationTimestamp"))
    return "<unknown>" if created is None else human_duration(now - created)


def _pod_status(pod: dict) -> str:
    status = pod.get("status") or {}
    if pod["metadata"].get("deletionTimestamp"):
        return "Terminating"
    reason = status.get("reason") or status.get("phase") or "Unknown"
    for cs in status.get("containerStatuses") or []:
        state = cs.get("state") or {}
        if "waiting" in state and state["waiting"].get("reason"):
            reason = state["waiting"]["reason"]
        elif "terminated" in state:
            t = state["terminated"]
            reason = t.get("reason") or (f"Signal:{t['signal']}" if t.get("signal") else f"ExitCode:{t.get('exitCode')}")
    return reason


def _pod(pod: dict, now: float) -> list[Any]:
    statuses = (pod.get("status") or {}).get("containerStatuses") or []
    total = len((pod.get("spec") or {}).get("containers") or [])
    ready = sum(1 for cs in statuses if cs.get("ready"))
    restarts = sum(int(cs.get("restartCount") or 0) for cs in statuses)
    status = pod.get("status") or {}
    return [pod["metadata"]["name"], f"{ready}/{total}", _pod_status(pod), restarts, age(pod, now),
            status.get("podIP") or "<none>", (pod.get("spec") or {}).get("nodeName") or "<none>", "<none>", "<none>"]


def _deployment(d: dict, now: float) -> list[Any]:
    spec, status = d.get("spec") or {}, d.get("status") or {}
    return [d["metadata"]["name"], f"{status.get('readyReplicas', 0)}/{spec.get('replicas', 1)}",
            status.get("updatedReplicas", 0), status.get("availableReplicas", 0), age(d, now)]


def _replicaset(r: dict, now: float) -> list[Any]:
    spec, status = r.get("spec") or {}, r.get("status") or {}
    return [r["metadata"]["name"], spec.get("replicas", 1), status.get("replicas", 0),
            status.get("readyReplicas", 0), age(r, now)]


def _statefulset(s: dict, now: float) -> list[Any]:
    spec, status = s.get("spec") or {}, s.get("status") or {}
    return [s["metadata"]["name"], f"{status.get('readyReplicas', 0)}/{spec.get('replicas', 1)}", age(s, now)]


def _daemonset(d: dict, now: float) -> list[Any]:
    status = d.get("status") or {}
    sel = ((d.get("spec") or {}).get("template") or {}).get("spec", {}).get("nodeSelector") or {}
    return [d["metadata"]["name"], status.get("desiredNumberScheduled", 0), status.get("currentNumberScheduled", 0),
            status.get("numberReady", 0), status.get("updatedNumberScheduled", 0),
            status.get("numberAvailable", 0), ",".join(f"{k}={v}" for k, v in sel.items()) or "<none>", age(d, now)]


def _job(j: dict, now: float) -> list[Any]:
    spec, status = j.get("spec") or {}, j.get("status") or {}
    conds = {c.get("type"): c.get("status") for c in status.get("conditions") or []}
    state = ("Complete" if conds.get("Complete") == "True" else "Failed" if conds.get("Failed") == "True"
             else "Running")
    start, end = _ts(status.get("startTime")), _ts(status.get("completionTime"))
    duration = "" if start is None else human_duration((end or now) - start)
    return [j["metadata"]["name"], state, f"{status.get('succeeded', 0)}/{spec.get('completions', 1)}",
            duration, age(j, now)]


def _node(n: dict, now: float) -> list[Any]:
    conds = {c.get("type"): c.get("status") for c in (n.get("status") or {}).get("conditions") or []}
    status = "Ready" if conds.get("Ready") == "True" else "NotReady" if "Ready" in conds else "Unknown"
    if (n.get("spec") or {}).get("unschedulable"):
        status += ",SchedulingDisabled"
    roles = sorted(k.split("/", 1)[1] for k in (n["metadata"].get("labels") or {})
                   if k.startswith("node-role.kubernetes.io/"))
    version = ((n.get("status") or {}).get("nodeInfo") or {}).get("kubeletVersion", "")
    return [n["metadata"]["name"], status, ",".join(roles) or "<none>", age(n, now), version]


def _namespace(n: dict, now: float) -> list[Any]:
    return [n["metadata"]["name"], (n.get("status") or {}).get("phase", "Active"), age(n, now)]


def _event(e: dict, now: float) -> list[Any]:
    last = _ts(e.get("lastTimestamp") or e.get("eventTime") or e["metadata"].get("creationTimestamp"))
    obj = e.get("involvedObject") or e.get("regarding") or {}
    kind = (obj.get("kind") or "").lower()
    return ["<unknown>" if last is None else human_duration(now - last), e.get("type", ""), e.get("reason", ""),
            f"{kind}/{obj.get('name', '')}", (e.get("message") or e.get("note") or "").strip()]


def _configmap(c: dict, now: float) -> list[Any]:
    return [c["metadata"]["name"], len(c.get("data") or {}) + len(c.get("binaryData") or {}), age(c, now)]


def _service(s: dict, now: float) -> list[Any]:
    spec = s.get("spec") or {}
    ports = ",".join(f"{p.get('port')}/{p.get('protocol', 'TCP')}" for p in spec.get("ports") or []) or "<none>"
    return [s["metadata"]["name"], spec.get("type", "ClusterIP"), spec.get("clusterIP") or "<none>",
            ",".join(spec.get("externalIPs") or []) or "<none>", ports, age(s, now)]


def _lease(lease: dict, now: float) -> list[Any]:
    return [lease["metadata"]["name"], (lease.get("spec") or {}).get("holderIdentity", ""), age(lease, now)]


def _crd(c: dict, now: float) -> list[Any]:
    return [c["metadata"]["name"], c["metadata"].get("creationTimestamp", "")]


def _default(o: dict, now: float) -> list[Any]:
    return [o["metadata"]["name"], age(o, now)]


def _col(name: str, kind: str = "string", priority: int = 0, fmt: str = "") -> dict[str, Any]:
    return {"name": name, "type": kind, "format": fmt, "description": "", "priority": priority}


_NAME = _col("Name", fmt="name")
_AGE = _col("Age")
_TABLES: dict[tuple[str, str], tuple[list[dict[str, Any]], Row]] = {
    ("", "pods"): ([_NAME, _col("Ready"), _col("Status"), _col("Restarts", "integer"), _AGE, _col("IP", priority=1),
                    _col("Node", priority=1), _col("Nominated Node", priority=1),
                    _col("Readiness Gates", priority=1)], _pod),
    ("apps", "deployments"): ([_NAME, _col("Ready"), _col("Up-to-date", "integer"), _col("Available", "integer"),
                               _AGE], _deployment),
    ("apps", "replicasets"): ([_NAME, _col("Desired", "integer"), _col("Current", "integer"),
                               _col("Ready", "integer"), _AGE], _replicaset),
    ("apps", "statefulsets"): ([_NAME, _col("Ready"), _AGE], _statefulset),
    ("apps", "daemonsets"): ([_NAME, _col("Desired", "integer"), _col("Current", "integer"), _col("Ready", "integer"),
                              _col("Up-to-date", "integer"), _col("Available", "integer"), _col("Node Selector"),
                              _AGE], _daemonset),
    ("batch", "jobs"): ([_NAME, _col("Status"), _col("Completions"), _col("Duration"), _AGE], _job),
    ("", "nodes"): ([_NAME, _col("Status"), _col("Roles"), _AGE, _col("Version")], _node),
    ("", "namespaces"): ([_NAME, _col("Status"), _AGE], _namespace),
    ("", "events"): ([_col("Last Seen"), _col("Type"), _col("Reason"), _col("Object"), _col("Message")], _event),
    ("events.k8s.io", "events"): ([_col("Last Seen"), _col("Type"), _col("Reason"), _col("Object"),
                                   _col("Message")], _event),
    ("", "configmaps"): ([_NAME, _col("Data", "integer"), _AGE], _configmap),
    ("", "services"): ([_NAME, _col("Type"), _col("Cluster-IP"), _col("External-IP"), _col("Port(s)"), _AGE],
                       _service),
    ("coordination.k8s.io", "leases"): ([_NAME, _col("Holder"), _AGE], _lease),
    ("apiextensions.k8s.io", "customresourcedefinitions"): ([_NAME, _col("Created At", "date")], _crd),
}


def _json_path(obj: Any, path: str) -> Any:
    """Evaluate the simple `.a.b[0].c` JSONPath forms CRDs use in additionalPrinterColumns."""
    cur = obj
    for part in path.lstrip(".").replace("[", ".[").split("."):
        if not part:
            continue
        if part.startswith("[") and part.endswith("]") and part[1:-1].isdigit():
            idx = int(part[1:-1])
            cur = cur[idx] if isinstance(cur, list) and idx < len(cur) else None
        else:
            cur = cur.get(part) if isinstance(cur, dict) else None
        if cur is None:
            return None
    return cur


def _custom(crd: dict, version: str) -> tuple[list[dict[str, Any]], Row]:
    spec = crd["spec"]
    vdef: dict[str, Any] = next((v for v in spec["versions"] if v["name"] == version), {})
    printer = vdef.get("additionalPrinterColumns") or spec.get("additionalPrinterColumns") or []
    cols = [_NAME] + [_col(c["name"], c.get("type", "string"), c.get("priority", 0), c.get("format", ""))
                      for c in printer]
    if not any(c["name"].lower() == "age" for c in printer):
        cols.append(_AGE)

    def row(obj: dict, now: float) -> list[Any]:
        cells: list[Any] = [obj["metadata"]["name"]]
        for c in printer:
            value = _json_path(obj, c["jsonPath"])
            if c.get("type") == "date" and isinstance(value, str) and _ts(value) is not None:
                value = human_duration(now - (_ts(value) or now))
            cells.append(value)
        if len(cells) < len(cols):
            cells.append(age(obj, now))
        return cells

    return cols, row


def table(res: Resource, crd: dict | None, objects: list[dict], now: float, include_object: str,
          resource_version: str, continue_token: str | None = None) -> dict[str, Any]:
    """A Table for `objects`; `include_object` is None, Object or PartialObjectMetadata (the query parameter)."""
    if crd is not None:
        cols, row = _custom(crd, res.version)
    else:
        cols, row = _TABLES.get((res.group, res.plural), ([_NAME, _AGE], _default))
    rows = []
    for obj in objects:
        entry: dict[str, Any] = {"cells": row(obj, now)}
        if include_object == "Object":
            entry["object"] = obj
        elif include_object != "None":
            entry["object"] = {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1",
                               "metadata": obj["metadata"]}
        rows.append(entry)
    meta: dict[str, Any] = {"resourceVersion": resource_version}
    if continue_token:
        meta["continue"] = continue_token
    return {"kind": "Table", "apiVersion": "meta.k8s.io/v1", "metadata": meta, "columnDefinitions": cols, "rows": rows}
