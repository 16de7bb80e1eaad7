"""The normalized view (defaults filled, secrets masked) and the JSON Schema of the native format."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import jsonschema
import pytest
import yaml

from kubevigil.catalog import json_schema, load
from kubevigil.config import normalized

pytestmark = pytest.mark.usefixtures("tables")
Write = Callable[..., Path]

EXAMPLE = """\
cluster:
  name: prod-eks
server: {listen: "[::]:8080"}
logging: {level: warning, format: console}
state_dir: /var/lib/kubevigil
shutdown_grace: 15
sinks:
  cw: {gauge: {namespace: EKS/Health, api_key: "${API_KEY}"}, delivery: {retry_cap: 30}}
  search: {log: {url: "https://search.example:443", password: hunter2}}
probe:
  seconds: 30
  token: s3cret
  sinks: [cw]
  records_to: search
  targets:
    - {name: prometheus, pattern: "^prom.*$"}
"""


def test_normalized_fills_defaults_and_masks_secrets(write: Write) -> None:
    loaded = load(write(EXAMPLE), environ={"API_KEY": "abc123"})
    view = normalized(loaded.settings)
    text = json.dumps(view)
    assert "abc123" not in text and "hunter2" not in text and "s3cret" not in text
    assert view["sinks"]["cw"] == {
        "gauge": {"namespace": "EKS/Health", "api_key": "***", "storage_resolution": 60},
        "delivery": {**view["sinks"]["cw"]["delivery"], "retry_cap": 30.0},
    }
    assert view["sinks"]["cw"]["delivery"]["timeout"] == 30.0
    assert view["sinks"]["search"]["log"]["password"] == "***"
    assert view["probe"]["token"] == "***"
    assert view["cluster"] == {"name": "prod-eks", "kubeconfig": None, "context": None}
    assert view["state_dir"] == "/var/lib/kubevigil"
    # the raw secret is still there for the code that needs it
    assert loaded.settings.sinks["cw"].params.api_key.get_secret_value() == "abc123"  # type: ignore[attr-defined]


def test_normalized_view_loads_back_to_the_same_settings(write: Write) -> None:
    loaded = load(write(EXAMPLE), environ={"API_KEY": "k"})
    again = load(write(yaml.safe_dump(normalized(loaded.settings)), "again.yaml"), environ={})
    assert normalized(again.settings) == normalized(loaded.settings)


def test_defaults_and_roles_enabled(write: Write) -> None:
    settings = load(write(""), environ={"KUBEVIGIL_STATE_DIR": "/data"}).settings
    assert settings.roles_enabled() == []
    assert settings.state_dir == Path("/data")
    assert (settings.cluster.name, settings.server.listen, settings.logging.level, settings.shutdown_grace) == (
        "kubernetes", "0.0.0.0:8080", "info", 10.0)
    assert load(write("probe: {}\n"), environ={}).settings.state_dir == Path("./kubevigil-state")
    enabled = load(write("probe: {}\n"), environ={}).settings
    assert enabled.roles_enabled() == ["probe"] and enabled.role("probe") is not None


def test_sink_entry_exposes_type_params_and_delivery(write: Write) -> None:
    entry = load(write(EXAMPLE), environ={"API_KEY": "k"}).settings.sinks["cw"]
    assert entry.type == "gauge"
    assert entry.params.namespace == "EKS/Health"  # type: ignore[attr-defined]
    assert entry.delivery.retry_cap == 30.0


def test_json_schema_is_valid_and_accepts_the_example() -> None:
    schema = json_schema()
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    jsonschema.Draft202012Validator.check_schema(schema)
    validator = jsonschema.Draft202012Validator(schema)
    validator.validate(yaml.safe_load(EXAMPLE))
    json.dumps(schema)


@pytest.mark.parametrize(
    "bad",
    [
        {"sinks": {"a": {"gauge": {"namespace": "x"}, "log": {"url": "u"}}}},
        {"sinks": {"a": {"delivery": {}}}},
        {"probe": {"seconds": 0}},
        {"logging": {"level": "verbose"}},
        {"clusterr": {}},
    ],
)
def test_json_schema_rejects_what_the_loader_rejects(bad: dict[str, object]) -> None:
    errors = list(jsonschema.Draft202012Validator(json_schema()).iter_errors(bad))
    assert errors


def test_json_schema_accepts_the_normalized_view(write: Write) -> None:
    view = normalized(load(write(EXAMPLE), environ={"API_KEY": "k"}).settings)
    jsonschema.Draft202012Validator(json_schema()).validate(view)
