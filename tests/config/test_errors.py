"""Each kind of config mistake gives one exact, located message; all of them come out together."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from kubevigil.catalog import load
from kubevigil.config import ConfigError
from kubevigil.core.hostport import split_host_port

pytestmark = pytest.mark.usefixtures("tables")
Write = Callable[..., Path]


def errors(path: Path, **kwargs: object) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load(path, environ={}, **kwargs)  # type: ignore[arg-type]
    assert str(caught.value) == "\n".join(str(i) for i in caught.value.issues)
    return str(caught.value).splitlines()


def test_unknown_key_names_line_and_closest_key(write: Write) -> None:
    path = write("cluster:\n  name: prod\nsinks:\n  m:\n    gauge:\n      namspace: EKS/Health\n")
    assert errors(path) == [f"{path}:6: sinks.m.gauge.namspace: unknown key 'namspace'; did you mean 'namespace'?"]


def test_unknown_key_without_close_match_lists_valid_keys(write: Write) -> None:
    path = write("logging:\n  colour: true\n")
    assert errors(path) == [f"{path}:2: logging.colour: unknown key 'colour'; valid keys: format, level"]


def test_unknown_top_level_key(write: Write) -> None:
    path = write("sink:\n  m: {gauge: {namespace: x}}\n")
    assert errors(path) == [f"{path}:1: sink: unknown key 'sink'; did you mean 'sinks'?"]


def test_wrong_type(write: Write) -> None:
    path = write("shutdown_grace: soon\nprobe:\n  targets: {name: x}\n")
    assert errors(path) == [
        f"{path}:1: shutdown_grace: expected a number; got 'soon'",
        f"{path}:3: probe.targets: expected a list; got a mapping",
    ]


def test_out_of_range(write: Write) -> None:
    path = write("probe:\n  seconds: -5\nsinks:\n  m: {gauge: {namespace: x, storage_resolution: 120}}\n")
    assert errors(path) == [
        f"{path}:2: probe.seconds: must be greater than 0; got -5",
        f"{path}:4: sinks.m.gauge.storage_resolution: must be at most 60; got 120",
    ]


def test_missing_required_key_points_at_parent(write: Write) -> None:
    path = write("sinks:\n  m:\n    gauge:\n      api_key: k\nprobe:\n  targets:\n    - pattern: a\n")
    assert errors(path) == [
        f"{path}:3: sinks.m.gauge.namespace: required key is missing",
        f"{path}:7: probe.targets.0.name: required key is missing",
    ]


def test_literal_choices(write: Write) -> None:
    path = write("logging: {level: verbose, format: text}\n")
    assert errors(path) == [
        f"{path}:1: logging.level: must be 'debug', 'info', 'warning' or 'error'; got 'verbose'",
        f"{path}:1: logging.format: must be 'json' or 'console'; got 'text'",
    ]


def test_listen_address(write: Write) -> None:
    path = write("server: {listen: '8080'}\n")
    assert errors(path) == [f"{path}:1: server.listen: expected host:port such as 0.0.0.0:8080 or [::]:8080; got '8080'"]
    path = write("server: {listen: ':::8080'}\n")
    assert errors(path) == [f"{path}:1: server.listen: an IPv6 host needs brackets, e.g. [::]:8080; got ':::8080'"]
    path = write("server: {listen: '[::]:8080'}\n")
    assert split_host_port(load(path, environ={}).settings.server.listen) == ("::", 8080)


def test_unknown_sink_type(write: Write) -> None:
    path = write("sinks:\n  m:\n    gauges: {namespace: x}\n  n:\n    kafka: {}\n")
    assert errors(path) == [
        f"{path}:3: sinks.m.gauges: unknown sink type 'gauges'; did you mean 'gauge'?",
        f"{path}:5: sinks.n.kafka: unknown sink type 'kafka'; known types: gauge, log",
    ]


def test_sink_needs_exactly_one_type(write: Write) -> None:
    path = write("sinks:\n  a: {delivery: {timeout: 5}}\n  b:\n    gauge: {namespace: x}\n    log: {url: u}\n")
    assert errors(path) == [
        f"{path}:2: sinks.a: a sink needs exactly one sink type key (one of: gauge, log)",
        f"{path}:3: sinks.b: a sink has exactly one type; this one has gauge and log: split it into two named sinks",
    ]


def test_delivery_settings_are_validated(write: Write) -> None:
    path = write("sinks:\n  m:\n    gauge: {namespace: x}\n    delivery: {retry_cap: 0, retyr_base: 1}\n")
    assert errors(path) == [
        f"{path}:4: sinks.m.delivery.retry_cap: must be greater than 0; got 0",
        f"{path}:4: sinks.m.delivery.retyr_base: unknown key 'retyr_base'; did you mean 'retry_base'?",
    ]


def test_sink_reference_to_missing_sink_suggests_a_name(write: Write) -> None:
    path = write("sinks:\n  metrics: {gauge: {namespace: x}}\nprobe:\n  sinks: [metrcs]\n")
    assert errors(path) == [f"{path}:4: probe.sinks.0: no sink named 'metrcs'; did you mean 'metrics'?"]


def test_sink_reference_with_no_sinks_defined(write: Write) -> None:
    path = write("probe:\n  sinks:\n    - cw\n")
    assert errors(path) == [f"{path}:3: probe.sinks.0: no sink named 'cw': the config defines no sinks (add it under `sinks:`)"]


def test_sink_reference_of_the_wrong_kind(write: Write) -> None:
    path = write("sinks:\n  page: {log: {url: u}}\n  m: {gauge: {namespace: x}}\nprobe:\n  sinks: [page]\n  records_to: m\n")
    assert errors(path) == [
        f"{path}:5: probe.sinks.0: sink `page` (log) takes records; `probe` sends metrics",
        f"{path}:6: probe.records_to: sink `m` (gauge) takes metrics; `probe` sends records",
    ]


def test_role_planned_but_not_available(write: Write) -> None:
    path = write("probe: {}\nlater:\n  seconds: 1\n")
    assert errors(path) == [f"{path}:2: later: this role is not available in kubevigil 0.1.0 (planned); remove the section"]


def test_every_error_is_reported_together_in_line_order(write: Write) -> None:
    path = write(
        "cluster: {nmae: x}\n"
        "shutdown_grace: -1\n"
        "sinks:\n"
        "  m: {gauge: {namespace: '${NS}'}}\n"
        "  l: {lgo: {}}\n"
        "probe:\n"
        "  seconds: 0\n"
        "  sinks: [n]\n"
        "later: {}\n"
    )
    assert errors(path) == [
        f"{path}:1: cluster.nmae: unknown key 'nmae'; did you mean 'name'?",
        f"{path}:2: shutdown_grace: must be at least 0; got -1",
        f"{path}:4: sinks.m.gauge.namespace: environment variable 'NS' is not set (write ${{NS:-default}} to give a default, or $${{NS}} for a literal)",
        f"{path}:5: sinks.l.lgo: unknown sink type 'lgo'; did you mean 'log'?",
        f"{path}:7: probe.seconds: must be greater than 0; got 0",
        f"{path}:9: later: this role is not available in kubevigil 0.1.0 (planned); remove the section",
    ]


def test_secret_values_never_appear_in_errors(write: Write) -> None:
    path = write("probe:\n  token: [hunter2]\n")
    assert errors(path) == [f"{path}:2: probe.token: expected a string"]


def test_bad_yaml_names_the_line(write: Write) -> None:
    path = write("cluster:\n  name: [unclosed\nserver: {}\n")
    (line,) = errors(path)
    assert line.startswith(f"{path}:3: not valid YAML: ")


def test_duplicate_key_is_an_error(write: Write) -> None:
    path = write("cluster:\n  name: a\n  name: b\n")
    assert errors(path) == [f"{path}:3: cluster.name: duplicate key (first at line 2)"]


def test_top_level_must_be_a_mapping(write: Write) -> None:
    path = write("- a\n- b\n")
    assert errors(path) == [f"{path}:1: the config must be a mapping of sections (cluster:, sinks:, status:, ...)"]


def test_missing_file(tmp_path: Path) -> None:
    (line,) = errors(tmp_path / "nope.yaml")
    assert line.startswith(f"{tmp_path / 'nope.yaml'}: cannot read the config file: ")


def test_unknown_key_inside_a_union_member(write: Write) -> None:
    path = write("probe:\n  mode:\n    at_lest: 2\n")
    assert errors(path) == [f"{path}:3: probe.mode.at_lest: unknown key 'at_lest'; did you mean 'at_least'?"]


def test_an_empty_role_section_enables_the_role_with_defaults(write: Write) -> None:
    settings = load(write("probe:\n"), environ={}).settings
    assert settings.roles_enabled() == ["probe"]
    assert settings.probe.seconds == 60  # type: ignore[attr-defined]
