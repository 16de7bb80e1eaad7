"""Docs that are generated from the code stay current."""

from __future__ import annotations

import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_sink_reference_is_current() -> None:
    spec = importlib.util.spec_from_file_location("sink_reference", ROOT / "scripts" / "sink_reference.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    current = (ROOT / "docs" / "sinks.md").read_text()
    assert current == module.render(), "docs/sinks.md is stale: run .venv/bin/python scripts/sink_reference.py > docs/sinks.md"


def test_readme_config_example_loads(tmp_path: Path) -> None:
    from kubevigil.catalog import load

    readme = (ROOT / "README.md").read_text()
    block = readme.split("```yaml\n", 1)[1].split("```", 1)[0]
    path = tmp_path / "config.yaml"
    path.write_text(block)
    settings = load(path).settings
    assert settings.roles_enabled() == ["status", "events"]


def test_readme_lists_every_sink() -> None:
    from kubevigil.sinks.registry import SINKS

    readme = (ROOT / "README.md").read_text()
    assert all(f"`{name}`" in readme for name in SINKS)


def test_readme_opens_with_the_two_commands() -> None:
    readme = (ROOT / "README.md").read_text()
    first_block = readme.split("```sh\n", 1)[1].split("```", 1)[0].strip().splitlines()
    assert "kubevigil demo" in first_block[0]
    assert first_block[1].split()[0] == "./scripts/test"
    assert (ROOT / ".ci" / "run").read_text().strip().endswith("exec ./scripts/test")
