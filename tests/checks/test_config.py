"""The `checks:` section through the real loader: defaults, durations, sink references checked by kind."""

from __future__ import annotations

from pathlib import Path

import pytest

from kubevigil.catalog import load
from kubevigil.config import ConfigError, DefaultSection
from kubevigil.roles import checks


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.yaml"
    path.write_text(text)
    return path


def errors(path: Path) -> str:
    with pytest.raises(ConfigError) as info:
        load(path)
    return str(info.value)


def test_an_empty_section_runs_every_namespace_with_defaults(tmp_path: Path) -> None:
    settings = load(write(tmp_path, "checks: {}\n")).settings
    section = settings.checks
    assert settings.roles_enabled() == ["checks"]
    assert section.namespaces == [] and section.max_timeout == 300 and section.run_ttl == 3600
    assert checks.SPEC.defaults == DefaultSection({}) and checks.SPEC.leader is True


def test_durations_and_sinks(tmp_path: Path) -> None:
    text = """\
sinks:
  page: {sns: {topic_arn: "arn:aws:sns:eu-west-1:111122223333:oncall"}}
  cw: {cloudwatch: {namespace: EKS/Checks}}
checks:
  namespaces: [health]
  max_timeout: 2m
  run_ttl: 1h30m
  sinks: {records: [page], metrics: [cw]}
"""
    section = load(write(tmp_path, text)).settings.checks
    assert section.max_timeout == 120 and section.run_ttl == 5400
    assert list(section.sink_refs()) == [(("sinks", "records", 0), "page", "record"),
                                         (("sinks", "metrics", 0), "cw", "metric")]


def test_a_record_sink_that_takes_only_metrics_is_named(tmp_path: Path) -> None:
    text = """\
sinks:
  cw: {cloudwatch: {namespace: EKS/Checks}}
checks:
  sinks: {records: [cw, nope]}
"""
    message = errors(write(tmp_path, text))
    assert "checks.sinks.records" in message and "takes metrics" in message
    assert "no sink named 'nope'" in message


def test_bad_values_name_the_key(tmp_path: Path) -> None:
    message = errors(write(tmp_path, "checks: {max_timeout: soon, workers: 0}\n"))
    assert "checks.max_timeout" in message and "is not a duration" in message
    assert "checks.workers" in message
