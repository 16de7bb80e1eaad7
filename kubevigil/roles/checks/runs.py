"""Run objects: the Workflow or Job a run creates, and what a finished one says (result, message, custom metrics)."""

from __future__ import annotations

import copy
import json
import ssl
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import yaml

from kubevigil.kube.errors import REQUEST_ERRORS, ApiError
from kubevigil.kube.resources import Resource, by_kind
from kubevigil.roles.checks.activemonitor import Source as AmSource
from kubevigil.roles.checks.check import (
    LABEL_PURPOSE,
    Check,
    JobRun,
    KuberhealthyRun,
    WorkflowRun,
    run_labels,
)
from kubevigil.roles.checks.healthcheck import Source as KvSource

WORKFLOW = Resource("argoproj.io", "v1alpha1", "Workflow", "workflows", True, subresources=("status",))
JOB = by_kind("Job")
POD = by_kind("Pod")
SOURCE_TIMEOUT = 10.0
SOURCE_MAX_BYTES = 1024 * 1024
KH_UUID_LABEL = "kh-run-uuid"


class SourceError(Exception):
    """The Workflow source cannot be read or parsed; str() is one line for status."""


@dataclass(frozen=True, slots=True)
class Outcome:
    """A finished run: ok or not, one line for status, and custom metric values it reported."""

    ok: bool
    message: str
    metrics: list[dict[str, Any]] = field(default_factory=list)


# ---- building


async def read_source(source: AmSource | KvSource, http: aiohttp.ClientSession) -> dict[str, Any]:
    """The Workflow document from inline text, a URL (verifyCert honoured) or a file on kubevigil's filesystem."""
    if source.inline is not None:
        text = source.inline
    elif source.url is not None:
        text = await _fetch(source.url.path, source.url.verifyCert is not False, http)
    else:
        assert source.file is not None
        try:
            text = Path(source.file.path).read_text()
        except OSError as exc:
            raise SourceError(f"cannot read workflow file {source.file.path}: {exc.strerror or exc}") from None
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise SourceError(f"workflow source is not YAML: {' '.join(str(exc).split())[:200]}") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("spec"), dict):
        raise SourceError("invalid workflow, missing spec")
    return doc


async def _fetch(url: str, verify: bool, http: aiohttp.ClientSession) -> str:
    ssl_arg: ssl.SSLContext | bool = bool(verify)
    try:
        async with http.get(url, ssl=ssl_arg, timeout=aiohttp.ClientTimeout(total=SOURCE_TIMEOUT)) as resp:
            if resp.status != 200:
                raise SourceError(f"workflow URL {url} answered {resp.status}")
            body = await resp.content.read(SOURCE_MAX_BYTES + 1)
    except (TimeoutError, aiohttp.ClientError, OSError) as exc:
        raise SourceError(f"cannot fetch workflow URL {url}: {type(exc).__name__} {exc}".strip()) from None
    if len(body) > SOURCE_MAX_BYTES:
        raise SourceError(f"workflow URL {url} returned more than {SOURCE_MAX_BYTES} bytes")
    return body.decode(errors="replace")


def _metadata(check: Check, run: WorkflowRun | JobRun | KuberhealthyRun, purpose: str, owner: dict[str, Any],
              extra_labels: dict[str, str] | None = None) -> dict[str, Any]:
    meta: dict[str, Any] = {
        "generateName": run.generate_name, "namespace": run.namespace,
        "labels": {**(extra_labels or {}), **run_labels(check.key, check.uid), LABEL_PURPOSE: purpose},
    }
    if run.namespace == check.key.namespace:  # owner references cannot cross namespaces
        meta["ownerReferences"] = [owner_reference(owner)]
    return meta


def owner_reference(obj: dict[str, Any]) -> dict[str, Any]:
    meta = obj["metadata"]
    return {"apiVersion": obj["apiVersion"], "kind": obj["kind"], "name": meta["name"], "uid": meta["uid"],
            "controller": True, "blockOwnerDeletion": False}


def workflow_body(check: Check, run: WorkflowRun, doc: dict[str, Any], purpose: str, owner: dict[str, Any],
                  deadline: float) -> dict[str, Any]:
    """The Workflow to submit: the source's spec, kubevigil's labels, the run's account and deadline."""
    body = copy.deepcopy(doc)
    raw_meta = body.get("metadata")
    source_meta: dict[str, Any] = raw_meta if isinstance(raw_meta, dict) else {}
    labels = {str(k): str(v) for k, v in (source_meta.get("labels") or {}).items()}
    meta = _metadata(check, run, purpose, owner, labels)
    if source_meta.get("annotations"):
        meta["annotations"] = dict(source_meta["annotations"])
    body.update(apiVersion="argoproj.io/v1alpha1", kind="Workflow", metadata=meta)
    spec = body["spec"]
    if run.service_account:
        spec["serviceAccountName"] = run.service_account
    spec.setdefault("activeDeadlineSeconds", int(deadline))
    return body


def job_body(check: Check, run: JobRun, purpose: str, owner: dict[str, Any], deadline: float) -> dict[str, Any]:
    template = copy.deepcopy(run.template)
    tmeta = template.setdefault("metadata", {})
    tmeta["labels"] = {**(tmeta.get("labels") or {}), **run_labels(check.key, check.uid), LABEL_PURPOSE: purpose}
    pod = template.setdefault("spec", {})
    pod.setdefault("restartPolicy", "Never")
    if run.service_account:
        pod["serviceAccountName"] = run.service_account
    return {"apiVersion": "batch/v1", "kind": "Job", "metadata": _metadata(check, run, purpose, owner),
            "spec": {"backoffLimit": run.backoff_limit, "activeDeadlineSeconds": max(1, int(deadline)),
                     "template": template}}


def kuberhealthy_body(check: Check, run: KuberhealthyRun, owner: dict[str, Any], deadline_at: float,
                      deadline: float, reporting_url: str, uuid: str) -> dict[str, Any]:
    """A Job running the check pod with kuberhealthy's environment, so its images run unchanged."""
    pod = copy.deepcopy(run.pod_spec)
    env: list[dict[str, Any]] = [{"name": "KH_REPORTING_URL", "value": reporting_url}, {"name": "KH_RUN_UUID", "value": uuid},
           {"name": "KH_CHECK_RUN_DEADLINE", "value": str(int(deadline_at))},
           {"name": "KH_POD_NAMESPACE", "valueFrom": {"fieldRef": {"fieldPath": "metadata.namespace"}}}]
    for container in pod.get("containers") or []:
        names = {e["name"] for e in env}
        container["env"] = [e for e in container.get("env") or [] if e.get("name") not in names] + env
    meta = {"labels": {**(run.pod_metadata.get("labels") or {}), KH_UUID_LABEL: uuid},
            "annotations": dict(run.pod_metadata.get("annotations") or {})}
    as_job = JobRun({"metadata": meta, "spec": pod}, run.namespace, run.generate_name, run.service_account, run.ttl, 0)
    body = job_body(check, as_job, "check", owner, deadline)
    body["metadata"]["labels"][KH_UUID_LABEL] = uuid
    return body


# ---- reading


def workflow_finished(wf: dict[str, Any]) -> bool:
    return (wf.get("status") or {}).get("phase") in ("Succeeded", "Failed", "Error")


def workflow_outcome(wf: dict[str, Any]) -> Outcome:
    status = wf.get("status") or {}
    ok = status.get("phase") == "Succeeded"
    message = str(status.get("message") or ("" if ok else f"Workflow {status.get('phase', '').lower()}"))
    params = (status.get("outputs") or {}).get("parameters") or []
    return Outcome(ok, message, metrics_from_parameters(params))


def metrics_from_parameters(params: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Custom metrics from output parameters whose value is active-monitor's {"metrics": [...]} JSON."""
    out: list[dict[str, Any]] = []
    for p in params:
        out += metrics_from_text(str(p.get("value") or ""))
    return out


def metrics_from_text(text: str) -> list[dict[str, Any]]:
    try:
        doc = json.loads(text)
    except (ValueError, TypeError):
        return []
    metrics = doc.get("metrics") if isinstance(doc, dict) else None
    return [m for m in metrics if isinstance(m, dict)] if isinstance(metrics, list) else []


def job_finished(job: dict[str, Any]) -> str | None:
    """'Complete' or 'Failed' once the Job has that condition True."""
    for cond in (job.get("status") or {}).get("conditions") or []:
        if cond.get("type") in ("Complete", "Failed") and cond.get("status") == "True":
            return str(cond["type"])
    return None


async def job_outcome(api: Any, job: dict[str, Any], tail_lines: int) -> Outcome:
    """Complete/Failed, with the failed container's termination message and log tail, and custom metrics."""
    finished = job_finished(job)
    meta = job["metadata"]
    pods, _ = await api.list(POD, meta["namespace"], label_selector=f"job-name={meta['name']}")
    terminated = [(p, c, (c.get("state") or {}).get("terminated") or (c.get("lastState") or {}).get("terminated"))
                  for p in pods for c in (p.get("status") or {}).get("containerStatuses") or []]
    metrics = [m for _, _, t in terminated if t for m in metrics_from_text(str(t.get("message") or ""))]
    if finished == "Complete":
        return Outcome(True, "", metrics)
    failed = [(p, c, t) for p, c, t in terminated if t and t.get("exitCode", 0) != 0]
    reason = _job_reason(job)
    if not failed:
        return Outcome(False, reason, metrics)
    pod, container, term = failed[-1]
    tail = await log_tail(api, pod, container["name"], tail_lines)
    note = str(term.get("message") or "").strip()
    if metrics_from_text(note) or (tail and _overlap(_joined(note), tail)):
        note = ""  # custom metrics, or the log itself (FallbackToLogsOnError), shown as the tail below
    what = f"{note or term.get('reason', 'Error')} (exit code {term.get('exitCode')})"
    message = f"{reason}: container {container['name']}: {what}"
    if tail:
        message += f"; log tail: {tail}"
    return Outcome(False, message, metrics)


def _joined(text: str) -> str:
    return " | ".join(ln for ln in text.splitlines() if ln.strip())


def _overlap(note: str, tail: str) -> bool:
    """Whether one of the two is the end of the other: the termination message is the log's tail."""
    return bool(note) and (note.endswith(tail) or tail.endswith(note))


def _job_reason(job: dict[str, Any]) -> str:
    for cond in (job.get("status") or {}).get("conditions") or []:
        if cond.get("type") == "Failed" and cond.get("status") == "True":
            return str(cond.get("message") or cond.get("reason") or "Job failed")
    return "Job failed"


async def log_tail(api: Any, pod: dict[str, Any], container: str, lines: int) -> str:
    """The last `lines` log lines of a container, joined with ' | '; '' when the log cannot be read."""
    if lines <= 0:
        return ""
    meta = pod["metadata"]
    try:
        text = await api.pod_log(meta["namespace"], meta["name"], container=container, tail_lines=lines)
    except (ApiError, *REQUEST_ERRORS):
        return ""
    return _joined("\n".join(text.splitlines()[-lines:]))[:2000]


def is_recorded(status: dict[str, Any], name: str) -> bool:
    """Whether status already counts the run `name` (history, or the last success/failure)."""
    if name in (status.get("lastSuccessfulWorkflow"), status.get("lastFailedWorkflow")):
        return True
    return any(h.get("run") == name for h in status.get("history") or [])
