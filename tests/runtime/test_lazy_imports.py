"""Heavy parts are imported when a config or command uses them: the emulator, search clients, boto3, other sinks."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from tests.conditions import wait_for
from tests.loopback import free_port, http_get

# Runs the real command line and writes the names of every module it imported when it exits.
PROBE = """
import atexit, json, sys
atexit.register(lambda: open(sys.argv[1], "w").write(json.dumps(sorted(sys.modules))))
from kubevigil.cli import main
sys.exit(main(sys.argv[2:]))
"""

NEVER_FOR_STATUS = re.compile(r"^(kubevigil\.sim\b|opensearchpy\b|elasticsearch\b|elastic_transport\b|boto3\b)")


def status_config(tmp_path: Path, kubeconfig: Path, port: int) -> Path:
    """A status-only config whose sinks are stdout and a file."""
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump({
        "cluster": {"name": "c", "kubeconfig": str(kubeconfig)},
        "server": {"listen": f"127.0.0.1:{port}"},
        "state_dir": str(tmp_path / "state"),
        "sinks": {"out": {"stdout": {}}, "metrics": {"file": {"path": str(tmp_path / "metrics.jsonl")}}},
        "status": {"seconds": 5, "metric": {"name": "Up"}, "targets": [{"kind": "Node", "mode": "AtLeastOne"}],
                   "sinks": ["out", "metrics"]},
    }))
    return path


def probe(modules: Path, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-c", PROBE, str(modules), *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def heavy(modules: Path) -> list[str]:
    imported = json.loads(modules.read_text())
    sinks = [m for m in imported if re.match(r"kubevigil\.sinks\.\w+\.sink$", m)]
    return [m for m in imported if NEVER_FOR_STATUS.match(m)] + [
        m for m in sinks if m not in ("kubevigil.sinks.stdout.sink", "kubevigil.sinks.file.sink")]


@pytest.fixture
def emulator(tmp_path: Path) -> Iterator[Path]:
    """`kubevigil sim serve` in its own process, so the process under test imports nothing of it; yields its kubeconfig."""
    kubeconfig = tmp_path / "kubeconfig"
    proc = subprocess.Popen([sys.executable, "-m", "kubevigil.cli", "sim", "serve", "--port", "0", "--nodes", "1",
                             "--kubeconfig-out", str(kubeconfig)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        wait_for(lambda: proc.poll() is None and kubeconfig.is_file() and kubeconfig.stat().st_size, timeout=60)
        yield kubeconfig
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def test_check_config_imports_no_emulator_and_no_sink(tmp_path: Path) -> None:
    config = status_config(tmp_path, tmp_path / "kubeconfig", 8080)
    modules = tmp_path / "modules.json"
    proc = probe(modules, "check-config", str(config))
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    imported = json.loads(modules.read_text())
    assert not [m for m in imported if NEVER_FOR_STATUS.match(m) or re.match(r"kubevigil\.sinks\.\w+\.sink$", m)]
    assert "lightkube" not in imported and "kubevigil.runtime" not in imported


def test_run_with_a_status_only_config_imports_no_emulator_and_no_search_client(tmp_path: Path, emulator: Path) -> None:
    port = free_port()
    modules = tmp_path / "modules.json"
    proc = probe(modules, "run", "--config", str(status_config(tmp_path, emulator, port)))
    try:
        wait_for(lambda: proc.poll() is None and http_get(f"http://127.0.0.1:{port}/readyz")[0] == 200, timeout=60)
        wait_for(lambda: (tmp_path / "metrics.jsonl").read_text(), timeout=60)
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    imported = json.loads(modules.read_text())
    assert {"kubevigil.runtime", "kubevigil.sinks.stdout.sink", "kubevigil.sinks.file.sink"} <= set(imported)
    assert heavy(modules) == []


def test_a_sink_is_imported_when_a_config_uses_it(tmp_path: Path) -> None:
    """The other half: the search clients arrive with a config that names them (check-config builds no sink)."""
    modules = tmp_path / "modules.json"
    code = (
        "import json, sys; from kubevigil.sinks.registry import SINKS; from kubevigil.sinks.sink import SinkContext\n"
        "from prometheus_client import CollectorRegistry; spec = SINKS['opensearch']\n"
        f"spec.build(spec.params(hosts=['http://127.0.0.1:9']), SinkContext('s', 'c', {str(tmp_path)!r}, "
        "CollectorRegistry()))\n"
        f"open({str(modules)!r}, 'w').write(json.dumps(sorted(sys.modules)))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    imported = json.loads(modules.read_text())
    assert "opensearchpy" in imported and "kubevigil.sinks.opensearch.sink" in imported
    assert "elasticsearch" not in imported and "kubevigil.sim" not in imported


# What a nurse-only process has no use for: the other formats' translation (event-exporter's Go templates), Jinja2
# (templates, the web page until someone opens it), RE2 (events' patterns), other roles' config models, the params
# of sink types the config does not name, sqlite while no sink keeps a journal, and any HTTP stack but aiohttp's.
NEVER_FOR_NURSE = re.compile(
    r"^(jinja2|re2|sqlite3|lightkube|httpx2?|httpcore2?|anyio|kubevigil\.core\.templating|kubevigil\.web\.render|kubevigil\.config\.importers\.gotemplate"
    r"|kubevigil\.config\.importers\.event_exporter\.(importer|routes|receivers|aws|local|search|webhooks)"
    r"|kubevigil\.config\.importers\.kubestatus2cloudwatch\.importer"
    r"|kubevigil\.roles\.(status|events|checks|scrape)\.config|kubevigil\.sinks\.(?!prometheus\.)\w+\.params)$")


def test_a_nurse_only_run_imports_no_other_role_sink_format_or_template_engine(tmp_path: Path, emulator: Path) -> None:
    port = free_port()
    config = tmp_path / "config.yaml"
    config.write_text(yaml.safe_dump({
        "cluster": {"name": "c", "kubeconfig": str(emulator)},
        "server": {"listen": f"127.0.0.1:{port}"},
        "state_dir": str(tmp_path / "state"),
        "sinks": {"prom": {"prometheus": {}, "delivery": {"journal": False}}},
        "nurse": {"interval_seconds": 5, "shutdown_seconds": 0, "metrics": {"sinks": ["prom"]},
                  "neighbours": {"namespace": "nurse", "selector": "app=nurse"}},
    }))
    modules = tmp_path / "modules.json"
    proc = probe(modules, "run", "--config", str(config))
    try:
        wait_for(lambda: proc.poll() is None and b"kubenurse_" in http_get(f"http://127.0.0.1:{port}/metrics")[1],
                 timeout=60)
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    imported = json.loads(modules.read_text())
    assert {"kubevigil.roles.nurse.role", "kubevigil.sinks.prometheus.params"} <= set(imported)
    assert [m for m in imported if NEVER_FOR_NURSE.match(m)] == []


def test_jinja2_is_imported_by_the_first_template_not_by_a_templated_field(tmp_path: Path) -> None:
    """A sink params model with template fields (stdout's layout) loads without Jinja2 while they hold no template."""
    modules = tmp_path / "modules.json"

    def check_config(layout: str) -> list[str]:
        config = tmp_path / "config.yaml"
        config.write_text(yaml.safe_dump({"sinks": {"out": {"stdout": {"layout": {"reason": layout}}}},
                                          "nurse": {"records": {"sinks": ["out"]}}}))
        proc = probe(modules, "check-config", str(config))
        _, err = proc.communicate(timeout=60)
        assert proc.returncode == 0, err
        imported: list[str] = json.loads(modules.read_text())
        return imported

    plain = check_config("node unreachable")
    assert "kubevigil.core.templating" in plain and "jinja2" not in plain
    assert "jinja2" in check_config("{{ reason | upper }}")
