"""kubevigil installed as users install it: a fresh venv, `pip install .` without extras, as the Dockerfile does.

The wheels of the dependencies are built once per dependency list into `.tools/wheels/<hash>/` (gitignored) and
installed from there with `--no-index`, so a run after the first needs no index and takes seconds, not minutes.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.anchors import ANCHORS
from tests.runtime.test_cli import COMMANDS

ROOT = Path(__file__).resolve().parents[2]
WHEELS = ROOT / ".tools" / "wheels"
TEST_TOOLS = ["pytest>=8"]  # for the test that pytest starts without pytest-asyncio

pytestmark = pytest.mark.timeout(900)  # the first run on a machine builds the wheel cache


@dataclass
class Install:
    venv: Path
    source: Path  # the clean copy that was installed
    cwd: Path  # a scratch directory with nothing of kubevigil in it
    wheels: Path

    def run(self, *args: str, timeout: float = 120, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        """A program of the venv (`kubevigil`, `python`, `pip`) run from the scratch directory."""
        env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV")} | (env or {})
        return subprocess.run([str(self.venv / "bin" / args[0]), *args[1:]], cwd=self.cwd, env=env,
                              capture_output=True, text=True, timeout=timeout)

    def pip_install(self, *args: str) -> None:
        result = self.run("python", "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--no-index",
                          "--find-links", str(self.wheels), *args, timeout=600)
        assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]


def dockerfile_sources() -> list[str]:
    """What the Dockerfile's build stage copies into the image before `pip install .`."""
    build_stage = re.split(r"^FROM ", (ROOT / "Dockerfile").read_text(), flags=re.MULTILINE)[1]
    sources: list[str] = []
    for line in build_stage.splitlines():
        words = line.split()
        if words[:1] == ["COPY"] and not any(w.startswith("--from") for w in words):
            sources += words[1:-1]
    assert "pyproject.toml" in sources, "the Dockerfile's build stage copies no pyproject.toml"
    return sources


def clean_copy(into: Path) -> Path:
    """The tracked files the Dockerfile copies, without build/, *.egg-info or caches that could help an install."""
    listed = subprocess.run(["git", "-C", str(ROOT), "ls-files", "-z", "--", *dockerfile_sources()],
                            capture_output=True, check=True).stdout.decode().split("\0")
    for name in filter(None, listed):
        if (ROOT / name).is_file():
            (into / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, into / name)
    return into


def wheel_cache(source: Path) -> Path:
    """`.tools/wheels/<hash of the dependency lists>/`, built with `pip wheel` when missing."""
    project = tomllib.loads((source / "pyproject.toml").read_text())
    key = json.dumps([sorted(project["build-system"]["requires"]), sorted(project["project"]["dependencies"]),
                      TEST_TOOLS, sys.version_info[:2], platform.machine()])
    cache = WHEELS / hashlib.sha256(key.encode()).hexdigest()[:16]
    if cache.is_dir():
        return cache
    building = WHEELS / f".building-{os.getpid()}"
    shutil.rmtree(building, ignore_errors=True)
    result = subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--disable-pip-version-check",
                             "--wheel-dir", str(building), str(source), *project["build-system"]["requires"],
                             *TEST_TOOLS], capture_output=True, text=True, timeout=800)
    assert result.returncode == 0, result.stderr[-3000:]
    for own in building.glob("kubevigil-*.whl"):
        own.unlink()  # always built from the copy under test
    try:
        building.rename(cache)
    except OSError:  # another run made it meanwhile
        shutil.rmtree(building, ignore_errors=True)
    return cache


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Install]:
    base = tmp_path_factory.mktemp("install")
    source = clean_copy(base / "src")
    subprocess.run([sys.executable, "-m", "venv", str(base / "venv")], check=True, timeout=300)
    (base / "cwd").mkdir()
    install = Install(base / "venv", source, base / "cwd", wheel_cache(source))
    install.pip_install(str(source))
    yield install


def no_traceback(result: subprocess.CompletedProcess[str]) -> bool:
    return "Traceback" not in result.stdout + result.stderr


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: " ".join(c) or "kubevigil")
def test_every_command_helps(installed: Install, command: list[str]) -> None:
    result = installed.run("kubevigil", *command, "--help")
    assert result.returncode == 0 and result.stdout.startswith("usage: kubevigil"), result.stderr


def test_schema(installed: Install) -> None:
    result = installed.run("kubevigil", "schema")
    assert result.returncode == 0, result.stderr
    assert set(json.loads(result.stdout)["properties"]) >= {"sinks", "status", "events"}


@pytest.mark.parametrize("anchor", sorted(p.relative_to(ANCHORS).as_posix() for p in ANCHORS.rglob("*.yaml")))
def test_check_config_on_every_anchor(installed: Install, anchor: str) -> None:
    result = installed.run("kubevigil", "check-config", str(ANCHORS / anchor))
    assert result.returncode in (0, 1) and no_traceback(result), result.stderr
    assert result.stderr.strip(), "check-config says nothing about the file"


# A value for each required params field of the sinks in the table; a sink whose params need another gets a
# clear failure here. Sinks choosing between two fields (a model validator) name their choice in CHOICES.
VALUES: dict[str, Any] = {
    "hosts": ["https://127.0.0.1:9200"], "endpoint": "https://127.0.0.1:9/hook", "url": "https://127.0.0.1:9/push",
    "address": "127.0.0.1:514", "topic_arn": "arn:aws:sns:eu-west-1:111122223333:oncall", "token": "t",
    "channel": "#alerts", "api_key": "k", "delivery_stream_name": "events", "source": "kubevigil",
    "detail_type": "Kubernetes Event", "log_group_name": "/kubevigil/events", "namespace": "Test/Health",
}
CHOICES: dict[str, dict[str, Any]] = {"sqs": {"queue_name": "events"}, "kinesis": {"stream_name": "events"},
                                     "elasticsearch": {"hosts": ["https://127.0.0.1:9200"]}}


def every_sink_config(install: Install) -> Path:
    """A config with one sink of each type in the installed table (read from the venv, not from this checkout)."""
    script = ("import json; from kubevigil.sinks.registry import SINKS\n"
              "print(json.dumps({n: [k for k, f in s.params.model_fields.items() if f.is_required()]"
              " for n, s in SINKS.items()}))")
    result = install.run("python", "-c", script)
    assert result.returncode == 0, result.stderr
    sinks: dict[str, Any] = {}
    for name, required in json.loads(result.stdout).items():
        missing = [field for field in required if field not in VALUES and field != "path"]
        assert not missing, f"sink {name}: add a value for {missing} to VALUES"
        params = {field: str(install.cwd / f"{name}.jsonl") if field == "path" else VALUES[field] for field in required}
        sinks[f"{name}-out"] = {name: {**params, **CHOICES.get(name, {})}}
    path = install.cwd / "every-sink.yaml"
    path.write_text(yaml.safe_dump({"cluster": {"name": "c"}, "state_dir": str(install.cwd / "state"), "sinks": sinks}))
    return path


def test_a_config_naming_every_sink_type_loads_and_every_sink_builds(installed: Install) -> None:
    config = every_sink_config(installed)
    result = installed.run("kubevigil", "check-config", str(config))
    assert result.returncode == 0, result.stderr
    script = (
        "import sys; from kubevigil.catalog import load; from kubevigil.sinks.registry import SINKS\n"
        "from kubevigil.sinks.sink import SinkContext; from prometheus_client import CollectorRegistry\n"
        "settings = load(sys.argv[1]).settings\n"
        "for name, entry in settings.sinks.items():\n"
        "    SINKS[entry.type].build(entry.params, SinkContext(name, 'c', settings.state_dir, CollectorRegistry()))\n"
        "print(len(settings.sinks))\n"
    )
    # AWS clients are made when a sink is built; they need a region, never credentials or the network
    built = installed.run("python", "-c", script, str(config), env={"AWS_DEFAULT_REGION": "eu-west-1"})
    assert built.returncode == 0, built.stderr
    assert int(built.stdout) == len(yaml.safe_load(config.read_text())["sinks"])


def test_demo_runs_to_the_end(installed: Install) -> None:
    result = installed.run("kubevigil", "demo", "--duration", "20", "--port", "0", "--out",
                           str(installed.cwd / "demo-out"), timeout=240)
    assert result.returncode == 0 and no_traceback(result), result.stdout[-3000:] + result.stderr[-3000:]
    assert "kubevigil demo is running" in result.stdout


def test_the_web_page_files_are_installed(installed: Install) -> None:
    script = ("from kubevigil.web.page import static_files; from kubevigil.web.render import render\n"
              "assert sorted(static_files()) == ['app.css', 'app.js', 'favicon.svg']\n"
              "print(render('hidden.html.j2', name='events'))\n")
    result = installed.run("python", "-c", script)
    assert result.returncode == 0, result.stderr
    assert 'id="panel-events"' in result.stdout


def test_pytest_starts_where_kubevigil_is_installed_without_pytest_asyncio(installed: Install) -> None:
    installed.pip_install(*TEST_TOOLS)
    assert installed.run("python", "-c", "import pytest_asyncio").returncode != 0
    project = installed.cwd / "other-project"
    project.mkdir()
    (project / "test_other.py").write_text("def test_other():\n    assert True\n")
    result = installed.run("python", "-m", "pytest", "-q", "-p", "no:cacheprovider", str(project))
    assert result.returncode == 0 and "1 passed" in result.stdout, result.stdout + result.stderr


def test_editable_install_as_the_readme_says(installed: Install) -> None:
    """Last in this file: it replaces the installed kubevigil with an editable one of the same copy."""
    installed.pip_install("-e", str(installed.source))
    for args in (["--help"], ["schema"], ["check-config", str(every_sink_config(installed))]):
        result = installed.run("kubevigil", *args)
        assert result.returncode == 0 and no_traceback(result), result.stderr
    where = installed.run("python", "-c", "import kubevigil; print(kubevigil.__file__)")
    assert where.stdout.startswith(str(installed.source)), where.stdout
