"""Runtime-owned leader election with two real `kubevigil run` processes against `kubevigil sim serve`: exactly one
runs the leader roles, the other is a ready standby that says so; when the leader is killed the standby takes over
within a lease duration. Roles that are not leader roles (status) run on both."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conditions import wait_for
from tests.loopback import free_port, http_get

LEASE_DURATION, RENEW_DEADLINE, RETRY_PERIOD = 3.0, 2.0, 0.5
LEASE = 'kubevigil_leader{lease="default/kubevigil"}'


@dataclass
class Replica:
    name: str
    proc: subprocess.Popen[bytes]
    port: int
    root: Path

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def get(self, path: str) -> tuple[int, Any]:
        status, body = http_get(self.base + path)
        return status, json.loads(body) if body.startswith((b"{", b"[")) else body.decode()

    def process(self) -> dict[str, Any]:
        status, body = self.get("/api/process")
        assert status == 200, body
        return body  # type: ignore[no-any-return]

    def leading(self) -> bool:
        return bool(self.process()["leader_election"]["leading"])

    def leader_gauge(self) -> str:
        _, text = self.get("/metrics")
        return next(line.split()[-1] for line in text.splitlines() if line.startswith(LEASE))

    def log(self) -> str:
        return (self.root / "kubevigil.log").read_text(errors="replace")[-4000:]


def replica_config(root: Path, kubeconfig: Path, port: int) -> Path:
    root.mkdir()
    config = {
        "cluster": {"name": "ha", "kubeconfig": str(kubeconfig)},
        "server": {"listen": f"127.0.0.1:{port}"},
        "state_dir": str(root / "state"),
        "shutdown_grace": 1,
        "logging": {"level": "info"},
        "leader_election": {"namespace": "default", "lease_duration": LEASE_DURATION,
                            "renew_deadline": RENEW_DEADLINE, "retry_period": RETRY_PERIOD},
        "sinks": {"events": {"file": {"path": str(root / "events.jsonl")}},
                  "beats": {"file": {"path": str(root / "beats.jsonl")}}},
        # leader roles: one exporter, one scraper
        "events": {"checkpoint": "configmap", "route": {"routes": [{"match": [{"receiver": "events"}]}]}},
        "scrape": {"cluster_id": "ha", "jobs": [{"name": "aws-node", "interval": 2, "timeout": 1}], "sinks": ["beats"]},
        # a role for every replica
        "status": {"seconds": 1, "metric": {"name": "Up"}, "targets": [{"kind": "Node", "mode": "AtLeastOne"}],
                   "sinks": ["beats"]},
    }
    path = root / "config.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


@pytest.fixture
def replicas(emulator_kubeconfig: Path, tmp_path: Path) -> Iterator[dict[str, Replica]]:
    started: dict[str, Replica] = {}
    for name in ("replica-a", "replica-b"):
        port = free_port()
        config = replica_config(tmp_path / name, emulator_kubeconfig, port)
        log = open(tmp_path / name / "kubevigil.log", "wb")  # noqa: SIM115 - closed with the process
        env = {**os.environ, "POD_NAME": name, "POD_NAMESPACE": "default", "PYTHONUNBUFFERED": "1"}
        proc = subprocess.Popen([sys.executable, "-m", "kubevigil.cli", "run", "--config", str(config)],
                                stdout=log, stderr=subprocess.STDOUT, env=env)
        started[name] = Replica(name, proc, port, tmp_path / name)
    try:
        for replica in started.values():
            wait_for(lambda r=replica: r.proc.poll() is None and http_get(f"{r.base}/healthz")[0] == 200,  # type: ignore[misc]
                     timeout=60)
        yield started
    finally:
        for replica in started.values():
            if replica.proc.poll() is None:
                replica.proc.kill()
            replica.proc.wait(timeout=10)


def test_one_replica_leads_the_other_is_a_ready_standby_and_takes_over_when_the_leader_dies(
        replicas: dict[str, Replica]) -> None:
    def leader_and_standby() -> tuple[Replica, Replica] | None:
        a, b = replicas.values()
        states = (a.leading(), b.leading())
        return (a, b) if states == (True, False) else (b, a) if states == (False, True) else None

    found = wait_for(leader_and_standby, timeout=60)
    assert isinstance(found, tuple)
    leader, standby = found
    for replica in (leader, standby):  # both ready: the standby too, with the reason on /readyz
        wait_for(lambda r=replica: r.get("/readyz")[0] == 200, timeout=60)  # type: ignore[misc]
    # The standby names the leader once it has read the lease the leader took (its next retry at the latest).
    names_the_leader = f"standby: {leader.name} leads (lease default/kubevigil)"
    ready = wait_for(lambda: (answer := standby.get("/readyz"))[0] == 200
                     and answer[1]["parts"]["role:events"]["detail"] == names_the_leader and answer[1], timeout=60)
    assert ready["parts"]["leader_election"]["ok"]

    led, waiting = leader.process(), standby.process()
    assert {r: s["state"] for r, s in led["roles"].items()} == {"status": "running", "events": "running",
                                                                "scrape": "running"}
    assert {r: s["state"] for r, s in waiting["roles"].items()} == {"status": "running", "events": "standby",
                                                                    "scrape": "standby"}
    assert waiting["leader_election"]["holder"] == leader.name and not waiting["leader_election"]["error"]
    assert leader.leader_gauge() == "1.0" and standby.leader_gauge() == "0.0"
    # A leader role's own route answers only where it runs; the standby names the leader.
    assert leader.get("/api/scrape")[0] == 200
    status, body = standby.get("/api/scrape")
    assert status == 503 and body["state"] == "standby" and body["leader"] == leader.name
    # The standby watches nothing for its leader roles: only the status role's Nodes.
    assert [i["watch"] for i in waiting["informers"]] == ["nodes@*"]
    assert {i["watch"] for i in led["informers"]} == {"nodes@*", "events@*", "pods@kube-system{k8s-app=aws-node}"}
    wait_for(lambda: (standby.root / "beats.jsonl").exists() and (leader.root / "beats.jsonl").exists())

    leader.proc.send_signal(signal.SIGKILL)  # it never hands the lease back: the standby waits for it to expire
    leader.proc.wait(timeout=10)
    killed = time.monotonic()
    wait_for(standby.leading, timeout=LEASE_DURATION * 4, interval=0.05)
    takeover = time.monotonic() - killed
    wait_for(lambda: standby.get("/readyz")[0] == 200, timeout=60)
    assert {r: s["state"] for r, s in standby.process()["roles"].items()} == {
        "status": "running", "events": "running", "scrape": "running"}
    assert standby.leader_gauge() == "1.0"
    print(f"takeover {takeover:.2f}s after SIGKILL (lease {LEASE_DURATION}s, retry {RETRY_PERIOD}s)")
    # The lease was renewed at most a retry period before the kill; the standby times its expiry from when it saw
    # that renewal (up to 1.2 retry periods later) and takes it at its next try (another 1.2): within a lease
    # duration of the last renewal, plus the polling.
    assert takeover <= LEASE_DURATION + 2.4 * RETRY_PERIOD + 1.0, standby.log()
