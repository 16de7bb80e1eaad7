"""The sink table is true to the sinks it names, and a sink whose library is missing is one clear line at load time."""

from __future__ import annotations

import dataclasses
import tomllib
from pathlib import Path

import pytest

from kubevigil.catalog import load
from kubevigil.config import ConfigError
from kubevigil.sinks import registry as sink_table
from kubevigil.sinks.registry import SINKS
from kubevigil.sinks.sink import Sink

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("name", sorted(SINKS))
def test_each_line_names_a_sink_that_consumes_what_the_line_says(name: str) -> None:
    import importlib

    spec = SINKS[name]
    cls = getattr(importlib.import_module(f"kubevigil.sinks.{spec.package}.sink"), spec.sink_class)
    assert issubclass(cls, Sink) and cls.kinds == spec.kinds
    assert spec.params is importlib.import_module(f"kubevigil.sinks.{spec.package}").Params
    assert spec.missing() == []


def test_the_libraries_sinks_need_are_runtime_dependencies() -> None:
    dependencies = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    needed = {requirement for spec in SINKS.values() for requirement in spec.needs.values()}
    assert needed <= set(dependencies), f"not in [project] dependencies: {sorted(needed - set(dependencies))}"


def test_a_sink_whose_library_is_missing_is_one_line_naming_what_to_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    trimmed = dataclasses.replace(SINKS["opensearch"], needs={"kubevigil_test_no_such_module": "opensearch-py>=2.4"})
    monkeypatch.setattr(sink_table, "SINKS", {**SINKS, "opensearch": trimmed})
    path = tmp_path / "config.yaml"
    path.write_text("sinks:\n  out: {stdout: {}}\n  search:\n    opensearch: {hosts: ['https://127.0.0.1:9200']}\n")
    with pytest.raises(ConfigError) as caught:
        load(path, environ={})
    assert str(caught.value) == (
        f"{path}:4: sinks.search.opensearch: needs the Python package opensearch-py, which is not installed "
        "(pip install 'opensearch-py>=2.4')"
    )
