"""event-exporter's own config files load unchanged; what cannot be translated is an error naming it."""

from __future__ import annotations

from pathlib import Path

import pytest

from kubevigil.catalog import load
from kubevigil.config.issues import ConfigError
from tests.anchors import ANCHORS as ANCHOR_DIR

ANCHORS = ANCHOR_DIR / "kubernetes-event-exporter"


def test_minimal_anchor_loads() -> None:
    loaded = load(ANCHORS / "config.yaml", environ={})
    assert loaded.format == "event-exporter"
    assert loaded.settings.cluster.name == "my-super-local-cluster"
    assert loaded.settings.events.route.routes[0].match[0].receiver == "dump"


def test_example_anchor_loads_with_env_and_warnings() -> None:
    loaded = load(ANCHORS / "config.example.yaml", environ={"ELASTIC_API_KEY": "k-123"})
    settings = loaded.settings
    assert settings.events.max_event_age_seconds == 10
    assert settings.events.route.routes[1].drop[0].namespace == ".*test.*"
    assert "kafka" not in settings.sinks and "pubsub" not in settings.sinks
    text = "\n".join(loaded.warnings)
    assert "receiver 'kafka'" in text and "kubeQPS" in text and "'*test*' is not a valid regular expression" in text


def test_referenced_unsupported_receiver_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text("route:\n  routes:\n    - match:\n        - receiver: k\nreceivers:\n"
                    "  - name: k\n    kafka:\n      topic: t\n")
    with pytest.raises(ConfigError, match=r"receiver 'k': Kafka is not supported.*used by a route"):
        load(path, environ={})


def test_untranslatable_template_names_key_and_construct(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text("route:\n  routes:\n    - match:\n        - receiver: w\nreceivers:\n  - name: w\n    webhook:\n"
                    "      endpoint: http://127.0.0.1:1\n      layout:\n        msg: '{{ template \"x\" . }}'\n")
    with pytest.raises(ConfigError) as err:
        load(path, environ={})
    assert "{{ template }} is not translated" in str(err.value)
    assert ":10:" in str(err.value) or "layout.msg" in str(err.value)
