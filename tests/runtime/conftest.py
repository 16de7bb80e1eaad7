"""A kubevigil process started from the real command line, on loopback, for socket-level runtime tests."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from tests.conditions import wait_for
from tests.loopback import free_port, http_get


@dataclass
class Process:
    proc: subprocess.Popen[bytes]
    port: int
    workdir: Path

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stop(self, timeout: float = 30.0) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout=timeout)


def _alive(p: Process) -> bool:
    if p.proc.poll() is not None:
        log = (p.workdir / "kubevigil.log").read_text(errors="replace")[-3000:]
        pytest.fail(f"kubevigil exited with {p.proc.returncode}:\n{log}")
    return True


@pytest.fixture
def kubevigil_process(tmp_path: Path) -> Iterator[Callable[[dict], Process]]:
    """Start `kubevigil run --config` with the given config dict (server/state_dir filled in)."""
    started: list[Process] = []

    def start(config: dict) -> Process:
        port = free_port()
        config = {"server": {"listen": f"127.0.0.1:{port}"}, "state_dir": str(tmp_path / "state"), **config}
        path = tmp_path / "config.yaml"
        path.write_text(yaml.safe_dump(config))
        log = open(tmp_path / "kubevigil.log", "wb")  # noqa: SIM115 - closed with the process
        proc = subprocess.Popen(
            [sys.executable, "-m", "kubevigil.cli", "run", "--config", str(path)],
            stdout=log, stderr=subprocess.STDOUT, cwd=tmp_path, env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        p = Process(proc, port, tmp_path)
        started.append(p)
        wait_for(lambda: _alive(p) and http_get(f"{p.base}/healthz")[0] == 200)
        return p

    yield start
    for p in started:
        if p.proc.poll() is None:
            p.proc.kill()
            p.proc.wait(timeout=10)


@pytest.fixture
def emulator_kubeconfig(tmp_path: Path) -> Iterator[Path]:
    """`kubevigil sim serve` in its own process (no workload simulator); the kubeconfig it wrote."""
    path = tmp_path / "emulator.kubeconfig"
    log = open(tmp_path / "emulator.log", "wb")  # noqa: SIM115 - closed with the process
    proc = subprocess.Popen([sys.executable, "-m", "kubevigil.cli", "sim", "serve", "--no-workloads",
                             "--kubeconfig-out", str(path)], stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_for(lambda: proc.poll() is None and path.exists() and path.stat().st_size > 0)
        yield path
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:  # a client still watching (torn down after this fixture) holds it open
            proc.kill()
            proc.wait(timeout=10)
        log.close()
