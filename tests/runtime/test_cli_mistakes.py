"""Ordinary mistakes, through the real command line: one clear line on stderr, the right exit code, no traceback."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from tests.conditions import wait_for
from tests.runtime.test_cli import kubevigil


def one_line(result: subprocess.CompletedProcess[str]) -> str:
    """The single line the command wrote to stderr (and nothing like a traceback)."""
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    return lines[0]


@pytest.fixture
def taken_port() -> Iterator[int]:
    """A loopback port another program listens on."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        yield int(s.getsockname()[1])


def run_config(tmp_path: Path, **overrides: object) -> Path:
    """A config `run` accepts; the cluster behind its kubeconfig is never reached by these mistakes."""
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(yaml.safe_dump({
        "apiVersion": "v1", "kind": "Config", "current-context": "c",
        "clusters": [{"name": "c", "cluster": {"server": "https://127.0.0.1:9"}}],
        "users": [{"name": "u", "user": {"token": "t"}}],
        "contexts": [{"name": "c", "context": {"cluster": "c", "user": "u"}}],
    }))
    config = {
        "cluster": {"name": "c", "kubeconfig": str(kubeconfig)}, "server": {"listen": "127.0.0.1:0"},
        "state_dir": str(tmp_path / "state"), "sinks": {"out": {"stdout": {}}},
        "leader_election": {"enabled": False},
        "events": {"route": {"routes": [{"match": [{"receiver": "out"}]}]}},
        **overrides,
    }
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def test_run_on_a_port_in_use(tmp_path: Path, taken_port: int) -> None:
    result = kubevigil("run", "--config", str(run_config(tmp_path, server={"listen": f"127.0.0.1:{taken_port}"})))
    assert result.returncode == 1
    assert one_line(result) == f"kubevigil: cannot listen on 127.0.0.1:{taken_port}: address already in use"


def test_demo_on_a_port_in_use(tmp_path: Path, taken_port: int) -> None:
    result = kubevigil("demo", "--port", str(taken_port), "--duration", "30", "--out", str(tmp_path / "out"))
    assert result.returncode == 1
    line = one_line(result)
    assert line.startswith(f"kubevigil: cannot listen on 127.0.0.1:{taken_port}: address already in use")
    assert "--port" in line


def test_state_dir_that_is_a_file(tmp_path: Path) -> None:
    state = tmp_path / "state"
    state.write_text("not a directory")
    result = kubevigil("run", "--config", str(run_config(tmp_path, state_dir=str(state))))
    assert result.returncode == 1
    assert one_line(result) == f"kubevigil: state_dir {state}: exists and is not a directory"


def test_file_sink_under_a_path_that_cannot_be_created(tmp_path: Path) -> None:
    (tmp_path / "plain-file").write_text("")
    path = tmp_path / "plain-file" / "logs" / "events.jsonl"
    config = run_config(tmp_path, sinks={"out": {"file": {"path": str(path)}}})
    result = kubevigil("run", "--config", str(config))
    assert result.returncode == 1
    line = one_line(result)
    assert line.startswith("kubevigil: sink 'out' failed to start: cannot create or open ")
    assert str(tmp_path / "plain-file") in line and line.endswith("Not a directory")


def test_schema_into_a_pipe_closed_early() -> None:
    """`kubevigil schema | head`: the reader stops early; that is not an error to report."""
    proc = subprocess.Popen([sys.executable, "-m", "kubevigil.cli", "schema"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    assert proc.stdout is not None and proc.stderr is not None
    assert proc.stdout.read(100).startswith(b"{")
    proc.stdout.close()  # the schema is ~100 KB, more than a pipe holds: the writer meets a closed pipe
    assert proc.wait(timeout=60) == 141
    assert proc.stderr.read() == b""


@pytest.mark.parametrize("duration", ["-5", "0", "nan", "soon"])
def test_demo_with_a_duration_that_is_not_a_positive_number(duration: str, tmp_path: Path) -> None:
    result = kubevigil("demo", "--duration", duration, "--out", str(tmp_path / "out"))
    assert result.returncode == 2
    line = one_line(result)
    assert line.startswith("kubevigil demo: argument --duration:") and duration in line
    assert not (tmp_path / "out").exists()


def test_version_option() -> None:
    from kubevigil import __version__

    result = kubevigil("--version")
    assert result.returncode == 0 and result.stdout == f"kubevigil {__version__}\n" and result.stderr == ""


@pytest.mark.parametrize(("group", "commands"), [("sim", "serve"), ("status", "create-alarm"), ("checks", "crd"),
                                                ("dashboards", "cloudwatch")])
def test_a_command_group_without_a_command_names_the_commands(group: str, commands: str) -> None:
    result = kubevigil(group)
    assert result.returncode == 2
    assert one_line(result) == f"kubevigil {group}: a command is required: {commands} (see kubevigil {group} --help)"


def test_unknown_command_is_one_line() -> None:
    result = kubevigil("bogus")
    assert result.returncode == 2
    assert "invalid choice: 'bogus'" in one_line(result)


def test_target_changed_lines_say_why(tmp_path: Path, kubevigil_process, emulator_kubeconfig: Path) -> None:
    """A target turning healthy logs its reason too: `reason=` was empty for every healthy verdict."""
    proc = kubevigil_process({
        "cluster": {"name": "c", "kubeconfig": str(emulator_kubeconfig)},
        "sinks": {"out": {"stdout": {}}},
        "status": {"seconds": 1, "metric": {"name": "Up"}, "sinks": ["out"], "targets": [{"kind": "Node", "name": "late-node"}]},
    })
    log = proc.workdir / "kubevigil.log"
    node = tmp_path / "node.yaml"
    node.write_text(yaml.safe_dump({
        "apiVersion": "v1", "kind": "Node", "metadata": {"name": "late-node"},
        "status": {"conditions": [{"type": "Ready", "status": "True", "reason": "KubeletReady"}]},
    }))
    kubectl = Path(sys.executable).with_name("kubectl")
    env = {**os.environ, "KUBECONFIG": str(emulator_kubeconfig)}
    subprocess.run([kubectl, "apply", "-f", str(node)], check=True, capture_output=True, env=env, timeout=60)

    def changed() -> list[dict]:
        lines = [json.loads(line) for line in log.read_text().splitlines() if line.startswith("{")]
        return [e for e in lines if e.get("event") == "target changed" and e.get("state") == "healthy"]

    (entry,) = wait_for(changed, timeout=60)
    assert entry["reason"], entry
    assert "Traceback" not in log.read_text()
