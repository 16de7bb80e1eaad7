"""Format detection, --format, and errors in a translated file pointing at the original file's lines."""

from __future__ import annotations

import sys
import types
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from kubevigil.catalog import load
from kubevigil.config import ConfigError, importers
from kubevigil.config.issues import ConfigIssue, Loc
from tests.anchors import ANCHORS

pytestmark = pytest.mark.usefixtures("tables")
Write = Callable[..., Path]


def _widget_detect(doc: dict[str, Any]) -> bool:
    return "widgets" in doc and "interval" in doc


def _widget_translate(doc: dict[str, Any], source: Path) -> tuple[dict[str, Any], list[str]]:
    """A made-up tool: `interval` -> probe.seconds (renamed: needs origin), `widgets` passed through as-is."""
    problems = [ConfigIssue.at(("widgets", i), "widget 'legacy' is not supported") for i, w in enumerate(doc["widgets"]) if w.get("name") == "legacy"]
    if problems:
        raise ConfigError(problems)
    native = {"probe": {"seconds": doc["interval"], "targets": doc["widgets"]}, "sinks": {"m": {"gauge": {"namespace": doc.get("ns", "N")}}}}
    return native, [f"interval: {doc['interval']} is read as seconds"]


def _widget_origin(loc: Loc, doc: dict[str, Any]) -> Loc | None:
    return ("interval", *loc[2:]) if loc[:2] == ("probe", "seconds") else None


@pytest.fixture
def widget_format(monkeypatch: pytest.MonkeyPatch) -> None:
    module = types.ModuleType("kv_test_widget_importer")
    module.detect = _widget_detect  # type: ignore[attr-defined]
    module.translate = _widget_translate  # type: ignore[attr-defined]
    module.origin = _widget_origin  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, module.__name__, module)
    monkeypatch.setattr(importers, "MODULES", {"widget-tool": module.__name__, "native": "kubevigil.config.importers.native"})


WIDGETS = "interval: 30\nwidgets:\n  - name: a\n  - name: b\n    colour: red\n"


@pytest.mark.usefixtures("widget_format")
def test_format_is_detected_by_shape(write: Write) -> None:
    loaded = load(write("interval: 30\nwidgets:\n  - name: a\n"), environ={})
    assert loaded.format == "widget-tool"
    assert loaded.warnings == ["interval: 30 is read as seconds"]
    assert loaded.settings.probe.seconds == 30  # type: ignore[attr-defined]
    assert load(write("probe: {seconds: 5}\n", "native.yaml"), environ={}).format == "native"


@pytest.mark.usefixtures("widget_format")
def test_format_option_overrides_detection(write: Write) -> None:
    path = write("interval: 30\nwidgets: []\n")
    with pytest.raises(ConfigError) as caught:
        load(path, format="native", environ={})
    assert str(caught.value).splitlines() == [
        f"{path}:1: interval: unknown key 'interval'; valid keys: cluster, leader_election, logging, probe, server, shutdown_grace, sinks, state_dir",
        f"{path}:2: widgets: unknown key 'widgets'; valid keys: cluster, leader_election, logging, probe, server, shutdown_grace, sinks, state_dir",
    ]
    assert load(write("interval: 30\nwidgets: []\nns: X\n", "w.yaml"), format="widget-tool", environ={}).format == "widget-tool"


@pytest.mark.usefixtures("widget_format")
def test_unknown_format_name(write: Write) -> None:
    path = write("probe: {}\n")
    with pytest.raises(ConfigError) as caught:
        load(path, format="kubenurse", environ={})
    assert str(caught.value) == f"{path}: unknown config format 'kubenurse'; known formats: widget-tool, native"
    assert importers.names() == ["widget-tool", "native"]


@pytest.mark.usefixtures("widget_format")
def test_errors_in_a_translation_point_at_the_original_lines(write: Write) -> None:
    path = write("interval: -1\nwidgets:\n  - name: a\n  - name: b\n    colour: red\n")
    with pytest.raises(ConfigError) as caught:
        load(path, environ={})
    assert str(caught.value).splitlines() == [
        f"{path}:1: interval: must be greater than 0; got -1",  # via the importer's origin()
        f"{path}:5: widgets.1.colour: unknown key 'colour'; valid keys: name, pattern",  # traced by identity
    ]


@pytest.mark.usefixtures("widget_format")
def test_importer_issues_get_the_original_line(write: Write) -> None:
    path = write("interval: 5\nwidgets:\n  - name: a\n  - name: legacy\n")
    with pytest.raises(ConfigError) as caught:
        load(path, environ={})
    assert str(caught.value) == f"{path}:4: widgets.1: widget 'legacy' is not supported"


@pytest.mark.usefixtures("widget_format")
def test_environment_is_expanded_before_translation(write: Write) -> None:
    path = write("interval: 5\nns: '${NS}'\nwidgets: []\n")
    assert load(path, environ={"NS": "Team/Health"}).settings.sinks["m"].params.namespace == "Team/Health"  # type: ignore[attr-defined]
    with pytest.raises(ConfigError) as caught:
        load(path, environ={})
    assert str(caught.value).startswith(f"{path}:2: ns: environment variable 'NS' is not set")


def test_the_replaced_tools_files_are_detected() -> None:
    detected = {}
    for folder, name in (("kubestatus2cloudwatch", "config-example.yaml"), ("kubernetes-event-exporter", "config.example.yaml")):
        path = ANCHORS / folder / name
        detected[folder] = importers.detect_format(yaml.safe_load(path.read_text()))
    expected = {"kubestatus2cloudwatch": "kubestatus2cloudwatch", "kubernetes-event-exporter": "event-exporter"}
    available = set(importers.names())
    assert detected == {k: (v if v in available else "native") for k, v in expected.items()}
