"""The kubelet's part: run bound pods through pull, start, readiness (or a scenario's failure) and report status."""

from __future__ import annotations

import copy
import hashlib
import random
from dataclasses import dataclass, field
from typing import Any

from kubevigil.core.clock import Clock
from kubevigil.kube.resources import by_kind
from kubevigil.sim.addresses import POD_NETWORK, AddressPool
from kubevigil.sim.eventrecorder import NORMAL, WARNING, EventRecorder, kubelet, rfc3339
from kubevigil.sim.podlogs import PodLogs
from kubevigil.sim.pods import NODE, POD, node_ip, node_is_ready, parse_time, qos_class, set_condition
from kubevigil.sim.scenarios import (
    CRASHLOOP,
    IMAGEPULL,
    JOB_FAIL,
    UNREADY,
    Scenario,
    ScenarioError,
    has_scenario,
    scenario_of,
)
from kubevigil.sim.writes import delete_object, write_status

SYNC_PERIOD = 10.0  # how often a kubelet re-syncs a pod in back-off, and so repeats its BackOff event
MAX_PULL_TIME = 1.0
CRASH_AFTER = 1.0  # a crashlooping container runs this long before it exits
BACKOFF_START = 10.0
BACKOFF_MAX = 300.0

CREATING = "creating"
PULL_ERROR = "pull-error"
PULL_BACKOFF = "pull-backoff"
RUNNING = "running"
EXITED = "exited"
CRASH_BACKOFF = "crash-backoff"
DONE = "done"


@dataclass
class PodRun:
    """What the kubelet remembers about one pod between syncs."""

    scenario: Scenario
    node: str
    host_ip: str
    pod_ip: str
    scheduled_at: float
    stage: str = CREATING
    next_at: float = 0.0
    pull_started: float = 0.0
    started_at: float = 0.0
    finished_at: float = 0.0
    restarts: int = 0
    backoff: float = BACKOFF_START
    waiting: float = 0.0
    last_sync_event: float = 0.0
    last_probe: float = 0.0
    last_exit: dict = field(default_factory=dict)
    succeeded: bool = False


class Kubelet:
    """Every node's kubelet at once; pods on a NotReady node are left alone, as a dead kubelet would."""

    def __init__(self, store: Any, clock: Clock, recorder: EventRecorder, logs: PodLogs | None = None) -> None:
        self._store = store
        self._clock = clock
        self._recorder = recorder
        self._logs = logs or PodLogs()
        self._runs: dict[str, PodRun] = {}
        self._pod_ips = AddressPool(POD_NETWORK, random.Random())

    def sync(self) -> None:
        nodes = {n["metadata"]["name"]: n for n in self._store.list(NODE)}
        pods = self._store.list(POD)
        for pod in sorted(pods, key=lambda p: (p["metadata"]["namespace"], p["metadata"]["name"])):
            node = nodes.get(pod["spec"].get("nodeName") or "")
            if node is None or not node_is_ready(node) or pod["metadata"].get("deletionTimestamp"):
                continue
            self._sync_pod(pod, node)
        live = {p["metadata"]["uid"] for p in pods}
        self._runs = {uid: run for uid, run in self._runs.items() if uid in live}
        self._logs.forget(live)

    def stop_pod(self, pod: dict) -> None:
        """Kill the pod's running containers (Killing events) and delete it, as a graceful delete ends."""
        run = self._runs.get(pod["metadata"]["uid"])
        if run is not None and run.stage == RUNNING:
            for container in pod["spec"].get("containers") or []:
                self._recorder.record(pod, kubelet(run.node), NORMAL, "Killing",
                                      f"Stopping container {container['name']}",
                                      f"spec.containers{{{container['name']}}}")
        delete_object(self._store, POD, pod["metadata"]["namespace"], pod["metadata"]["name"])

    def _sync_pod(self, pod: dict, node: dict) -> None:
        uid = pod["metadata"]["uid"]
        run = self._runs.get(uid)
        if run is None:
            run = self._admit(pod, node)
            self._runs[uid] = run
        self._advance(pod, run)
        write_status(self._store, POD, pod, self._status(pod, run))

    def _admit(self, pod: dict, node: dict) -> PodRun:
        name = node["metadata"]["name"]
        host_ip = node_ip(node)
        if pod["spec"].get("hostNetwork"):
            pod_ip = host_ip
        else:
            pod_ip = (pod.get("status") or {}).get("podIP") or ""
            if pod_ip not in self._pod_ips or pod_ip in self._ips_in_use(pod):
                # A pod admitted again (the emulator restarted from its state file) keeps its address.
                pod_ip = self._pod_ips.allocate(self._ips_in_use(pod))
        now = self._clock.now()
        run = PodRun(self._scenario(pod), name, host_ip, pod_ip, now)
        if not self._resume(pod, run):
            self._begin_pull(pod, run, now)
        return run

    def _resume(self, pod: dict, run: PodRun) -> bool:
        """Pick up a pod that was already running or finished before the emulator restarted, without rerunning it."""
        status = pod.get("status") or {}
        statuses = status.get("containerStatuses") or []
        phase = status.get("phase")
        if not statuses or phase not in ("Running", "Succeeded", "Failed"):
            return False
        states = [cs.get("state") or {} for cs in statuses]
        run.restarts = max(int(cs.get("restartCount") or 0) for cs in statuses)
        if status.get("startTime"):
            run.scheduled_at = parse_time(status["startTime"])
        if phase in ("Succeeded", "Failed"):
            run.stage, run.succeeded = DONE, phase == "Succeeded"
            run.last_exit = dict(states[0].get("terminated") or {})
            return True
        if not all("running" in st for st in states):
            return False
        run.stage = RUNNING
        run.started_at = run.last_probe = parse_time(states[0]["running"]["startedAt"])
        run.next_at = self._exit_time(pod, run, run.started_at)
        for container in _containers(pod):
            self._logs.start(pod["metadata"]["uid"], container["name"])
            self._logs.write(pod["metadata"]["uid"], container["name"], run.started_at,
                             self._output(pod, run, container))
        return True

    def _ips_in_use(self, pod: dict) -> set[str]:
        uid = pod["metadata"]["uid"]
        return {run.pod_ip for other, run in self._runs.items() if other != uid} | {
            (p.get("status") or {}).get("podIP") or "" for p in self._store.list_raw(POD)
            if p["metadata"]["uid"] != uid and not p["spec"].get("hostNetwork")}

    # ---- scenario lookup ------------------------------------------------------------------

    def _scenario(self, pod: dict) -> Scenario:
        """The first object up the controller chain (pod, ReplicaSet, Deployment, ...) that carries sim annotations."""
        obj: dict | None = pod
        while obj is not None:
            annotations = obj["metadata"].get("annotations") or {}
            if has_scenario(annotations):
                where = f"{obj['kind']} {obj['metadata'].get('namespace', '')}/{obj['metadata']['name']}"
                try:
                    return scenario_of(annotations, where)
                except ScenarioError as exc:
                    self._recorder.record(obj, kubelet(pod["spec"].get("nodeName", "")), WARNING,
                                          "InvalidSimScenario", f"{exc}; running it as healthy")
                    return Scenario()
            obj = self._controller_of(obj)
        return Scenario()

    def _controller_of(self, obj: dict) -> dict | None:
        for ref in obj["metadata"].get("ownerReferences") or []:
            if not ref.get("controller"):
                continue
            try:
                res = by_kind(ref["kind"], ref["apiVersion"])
            except KeyError:
                return None
            owner = self._store.try_get(res, obj["metadata"].get("namespace"), ref["name"])
            if owner is not None and owner["metadata"].get("uid") == ref.get("uid"):
                return owner
        return None

    # ---- the state machine ----------------------------------------------------------------

    def _advance(self, pod: dict, run: PodRun) -> None:
        """Take every transition that is due by now; a big clock jump passes through all of them."""
        for _ in range(1000):
            now = self._clock.now()
            if run.stage in (RUNNING, DONE, CRASH_BACKOFF, PULL_BACKOFF):
                self._periodic(pod, run, now)
            if run.stage == DONE or now < run.next_at:
                return
            step = {CREATING: self._pulled, PULL_ERROR: self._enter_pull_backoff,
                    PULL_BACKOFF: self._begin_pull, RUNNING: self._exit,
                    EXITED: self._restart, CRASH_BACKOFF: self._restart}[run.stage]
            step(pod, run, run.next_at)

    def _begin_pull(self, pod: dict, run: PodRun, at: float) -> None:
        run.stage = CREATING
        run.pull_started = at
        run.next_at = at + min(MAX_PULL_TIME, run.scenario.ready_after / 2)
        for container in _containers(pod):
            self._event(pod, run, NORMAL, "Pulling", f'Pulling image "{container["image"]}"', container)

    def _pulled(self, pod: dict, run: PodRun, at: float) -> None:
        if run.scenario.name == IMAGEPULL:
            self._pull_failed(pod, run, at)
            return
        took = at - run.pull_started
        for container in _containers(pod):
            image = container["image"]
            if run.restarts:
                self._event(pod, run, NORMAL, "Pulled",
                            f'Container image "{image}" already present on machine', container)
            else:
                self._event(pod, run, NORMAL, "Pulled",
                            f'Successfully pulled image "{image}" in {took:.3g}s ({took:.3g}s including waiting). '
                            f"Image size: {_image_size(image)} bytes.", container)
            self._event(pod, run, NORMAL, "Created", f"Created container: {container['name']}", container)
            self._event(pod, run, NORMAL, "Started", f"Started container {container['name']}", container)
            self._logs.start(pod["metadata"]["uid"], container["name"])
            self._logs.write(pod["metadata"]["uid"], container["name"], at, self._output(pod, run, container))
        run.stage = RUNNING
        run.started_at = at
        run.last_probe = at
        run.next_at = self._exit_time(pod, run, at)

    def _exit_time(self, pod: dict, run: PodRun, started: float) -> float:
        if run.scenario.name == CRASHLOOP:
            return started + CRASH_AFTER
        if pod["spec"].get("restartPolicy") in ("Never", "OnFailure"):
            return started + run.scenario.duration
        return float("inf")

    def _pull_failed(self, pod: dict, run: PodRun, at: float) -> None:
        for container in _containers(pod):
            image = container["image"]
            self._event(pod, run, WARNING, "Failed", f'Failed to pull image "{image}": {_pull_error(image)}',
                        container)
            self._event(pod, run, WARNING, "Failed", "Error: ErrImagePull", container)
        run.stage = PULL_ERROR
        run.next_at = at + min(MAX_PULL_TIME, SYNC_PERIOD)

    def _enter_pull_backoff(self, pod: dict, run: PodRun, at: float) -> None:
        run.stage = PULL_BACKOFF
        run.next_at = at + run.backoff
        run.backoff = min(run.backoff * 2, BACKOFF_MAX)
        run.last_sync_event = at - SYNC_PERIOD  # so the first BackOff is reported right away

    def _exit(self, pod: dict, run: PodRun, at: float) -> None:
        """The container ends: a crash (crashloop, job-fail, a non-zero exit code) or a job pod's completion."""
        code = run.scenario.code()
        failed = code != 0
        run.finished_at = at
        run.last_exit = {"exitCode": code, "reason": "Error" if failed else "Completed",
                         "startedAt": rfc3339(run.started_at), "finishedAt": rfc3339(at),
                         "containerID": _container_id(pod, run)}
        uid = pod["metadata"]["uid"]
        for container in _containers(pod):
            self._logs.exit(uid, container["name"])
        message = self._termination_message(pod, run, failed)
        if message:
            run.last_exit["message"] = message
        if pod["spec"].get("restartPolicy") == "Never" or (not failed and pod["spec"].get("restartPolicy")
                                                           == "OnFailure"):
            run.stage = DONE
            run.succeeded = not failed
            return
        if run.restarts == 0:
            # client-go's kubelet restarts the first crash at once and only backs off from the second.
            run.stage = EXITED
            run.next_at = at + 1.0
            return
        run.stage = CRASH_BACKOFF
        run.waiting = run.backoff
        run.next_at = at + run.backoff
        run.backoff = min(run.backoff * 2, BACKOFF_MAX)
        run.last_sync_event = at - SYNC_PERIOD

    def _output(self, pod: dict, run: PodRun, container: dict) -> str:
        """What the container prints: the scenario's text, or a line a real one of its kind would print."""
        if run.scenario.logs is not None:
            return run.scenario.logs
        if run.scenario.name == CRASHLOOP:
            return f"starting {container['name']}\nfatal: cannot start: exiting with code {run.scenario.code()}"
        if _exit_time_finite(pod, run):
            code = run.scenario.code()
            return f"running {container['name']}\n" + ("done" if code == 0 else f"error: exiting with code {code}")
        ports = [str(p.get("containerPort")) for p in container.get("ports") or []]
        return f"{container['name']} started" + (f", listening on :{ports[0]}" if ports else "")

    def _termination_message(self, pod: dict, run: PodRun, failed: bool) -> str:
        """state.terminated.message: what the container wrote to its termination log, or on failure with
        FallbackToLogsOnError the tail of its log (the kubelet's rules)."""
        if run.scenario.termination_message is not None:
            return run.scenario.termination_message
        container = _containers(pod)[0] if _containers(pod) else {}
        if failed and container.get("terminationMessagePolicy") == "FallbackToLogsOnError":
            return self._logs.tail(pod["metadata"]["uid"], container["name"])
        return ""

    def _restart(self, pod: dict, run: PodRun, at: float) -> None:
        run.restarts += 1
        run.pull_started = at
        self._pulled(pod, run, at)

    def _periodic(self, pod: dict, run: PodRun, now: float) -> None:
        """Events a kubelet repeats while a pod sits in a state: back-off reminders and failing probes."""
        if run.stage in (CRASH_BACKOFF, PULL_BACKOFF) and now - run.last_sync_event >= SYNC_PERIOD:
            run.last_sync_event = now
            for container in _containers(pod):
                if run.stage == CRASH_BACKOFF:
                    self._event(pod, run, WARNING, "BackOff",
                                f"Back-off restarting failed container {container['name']} in pod "
                                f"{_pod_id(pod)}", container)
                else:
                    self._event(pod, run, NORMAL, "BackOff", f'Back-off pulling image "{container["image"]}"',
                                container)
                    self._event(pod, run, WARNING, "Failed", "Error: ImagePullBackOff", container)
        if run.stage == RUNNING and run.scenario.name == UNREADY and now - run.last_probe >= _probe_period(pod):
            run.last_probe = now
            for container in _containers(pod):
                self._event(pod, run, WARNING, "Unhealthy",
                            f"Readiness probe failed: {_probe_failure(container, run.pod_ip)}", container)

    def _event(self, pod: dict, run: PodRun, type_: str, reason: str, message: str, container: dict) -> None:
        self._recorder.record(pod, kubelet(run.node), type_, reason, message,
                              f"spec.containers{{{container['name']}}}")

    # ---- status ---------------------------------------------------------------------------

    def _status(self, pod: dict, run: PodRun) -> dict:
        now = self._clock.now()
        now_text = rfc3339(now)
        status = copy.deepcopy(pod.get("status") or {})
        ready = self._ready(run, now)
        statuses = [self._container_status(pod, run, c, ready) for c in _containers(pod)]
        status["phase"] = _phase(pod, run)
        status["qosClass"] = qos_class(pod["spec"])
        status["hostIP"] = run.host_ip
        status["hostIPs"] = [{"ip": run.host_ip}]
        status["podIP"] = run.pod_ip
        status["podIPs"] = [{"ip": run.pod_ip}]
        status["startTime"] = rfc3339(run.scheduled_at)
        status["containerStatuses"] = statuses
        conditions = status.setdefault("conditions", [])
        sandbox = "False" if run.stage == DONE else "True"
        set_condition(conditions, "PodReadyToStartContainers", sandbox, now_text, probe_time=True)
        set_condition(conditions, "Initialized", "True", now_text, probe_time=True)
        if run.stage == DONE:
            set_condition(conditions, "Ready", "False", now_text, "PodCompleted", probe_time=True)
            set_condition(conditions, "ContainersReady", "False", now_text, "PodCompleted", probe_time=True)
        elif ready:
            set_condition(conditions, "Ready", "True", now_text, probe_time=True)
            set_condition(conditions, "ContainersReady", "True", now_text, probe_time=True)
        else:
            names = ", ".join(c["name"] for c in _containers(pod))
            set_condition(conditions, "Ready", "False", now_text, "ContainersNotReady",
                          f"containers with unready status: [{names}]", probe_time=True)
            set_condition(conditions, "ContainersReady", "False", now_text, "ContainersNotReady",
                          f"containers with unready status: [{names}]", probe_time=True)
        set_condition(conditions, "PodScheduled", "True", now_text, probe_time=True)
        order = ["PodReadyToStartContainers", "Initialized", "Ready", "ContainersReady", "PodScheduled"]
        conditions.sort(key=lambda c: order.index(c["type"]) if c["type"] in order else len(order))
        return status

    def _ready(self, run: PodRun, now: float) -> bool:
        if run.stage != RUNNING or run.scenario.name in (UNREADY, CRASHLOOP):
            return False
        return now >= run.scheduled_at + run.scenario.ready_after

    def _container_status(self, pod: dict, run: PodRun, container: dict, ready: bool) -> dict:
        image = _normalised_image(container["image"])
        out: dict = {"name": container["name"], "image": image, "imageID": "", "ready": ready,
                     "restartCount": run.restarts, "started": run.stage == RUNNING, "lastState": {}}
        if run.last_exit and run.stage != DONE:
            out["lastState"] = {"terminated": dict(run.last_exit)}
        if run.stage in (RUNNING, EXITED, CRASH_BACKOFF, DONE) or run.restarts:
            out["imageID"] = _image_id(image)
            out["containerID"] = _container_id(pod, run)
        out["state"] = _state(pod, run, container)
        return out


def _state(pod: dict, run: PodRun, container: dict) -> dict:
    image = container["image"]
    if run.stage == CREATING:
        return {"waiting": {"reason": "ContainerCreating"}}
    if run.stage == PULL_ERROR:
        return {"waiting": {"reason": "ErrImagePull", "message": f'failed to pull and unpack image "{image}"'}}
    if run.stage == PULL_BACKOFF:
        return {"waiting": {"reason": "ImagePullBackOff", "message": f'Back-off pulling image "{image}"'}}
    if run.stage == RUNNING:
        return {"running": {"startedAt": rfc3339(run.started_at)}}
    if run.stage == CRASH_BACKOFF:
        seconds = int(run.waiting)
        return {"waiting": {"reason": "CrashLoopBackOff",
                            "message": f"back-off {_go_duration(seconds)} restarting failed "
                                       f"container={container['name']} pod={_pod_id(pod)}"}}
    return {"terminated": dict(run.last_exit)}


def _phase(pod: dict, run: PodRun) -> str:
    if run.stage == DONE:
        return "Succeeded" if run.succeeded else "Failed"
    if run.stage in (CREATING, PULL_ERROR, PULL_BACKOFF) and not run.restarts:
        return "Pending"
    return "Running"


def _exit_time_finite(pod: dict, run: PodRun) -> bool:
    return run.scenario.name in (CRASHLOOP, JOB_FAIL) or pod["spec"].get("restartPolicy") in ("Never", "OnFailure")


def _containers(pod: dict) -> list[dict]:
    return pod["spec"].get("containers") or []


def _pod_id(pod: dict) -> str:
    meta = pod["metadata"]
    return f"{meta['name']}_{meta['namespace']}({meta['uid']})"


def _probe_period(pod: dict) -> float:
    periods = [float((c.get("readinessProbe") or {}).get("periodSeconds") or 10) for c in _containers(pod)]
    return min(periods) if periods else 10.0


def _probe_failure(container: dict, pod_ip: str) -> str:
    probe = container.get("readinessProbe") or {}
    if "tcpSocket" in probe:
        return f"dial tcp {pod_ip}:{probe['tcpSocket'].get('port', 80)}: connect: connection refused"
    if "exec" in probe:
        return "command failed with exit code 1"
    return "HTTP probe failed with statuscode: 503"


def _pull_error(image: str) -> str:
    ref = _normalised_image(image)
    return (f'rpc error: code = NotFound desc = failed to pull and unpack image "{ref}": failed to resolve '
            f'reference "{ref}": {ref}: not found')


def _normalised_image(image: str) -> str:
    """containerd's form: docker.io/library/nginx:1.25 for 'nginx:1.25'."""
    name = image
    first = name.split("/", 1)[0]
    if "/" not in name or ("." not in first and ":" not in first and first != "localhost"):
        name = ("docker.io/library/" if "/" not in name else "docker.io/") + name
    last = name.rsplit("/", 1)[-1]
    if ":" not in last and "@" not in last:
        name += ":latest"
    return name


def _image_id(image: str) -> str:
    repo = image.rsplit(":", 1)[0] if ":" in image.rsplit("/", 1)[-1] else image
    return f"{repo}@sha256:{hashlib.sha256(image.encode()).hexdigest()}"


def _image_size(image: str) -> int:
    return 20_000_000 + int(hashlib.sha256(image.encode()).hexdigest()[:6], 16) * 4


def _container_id(pod: dict, run: PodRun) -> str:
    seed = f"{pod['metadata']['uid']}/{run.restarts}".encode()
    return "containerd://" + hashlib.sha256(seed).hexdigest()


def _go_duration(seconds: int) -> str:
    """Go's time.Duration.String for whole seconds: 10s, 1m20s, 5m0s."""
    minutes, secs = divmod(seconds, 60)
    return f"{minutes}m{secs}s" if minutes else f"{secs}s"
