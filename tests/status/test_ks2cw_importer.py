"""kubestatus2cloudwatch files that the original rejects are rejected in one located line each, never a traceback."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from kubevigil.catalog import load
from kubevigil.config import ConfigError


def errors(path: Path, **kwargs: object) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load(path, environ={}, **kwargs)  # type: ignore[arg-type]
    return str(caught.value).splitlines()


def test_missing_metric_and_targets_with_the_format_forced(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text("seconds: 5\n")
    assert errors(path, format="kubestatus2cloudwatch") == [
        f"{path}:1: metric: required key is missing (the CloudWatch namespace and metric name)",
        f"{path}:1: targets: required key is missing (the workloads to watch)",
    ]
    result = subprocess.run([sys.executable, "-m", "kubevigil.cli", "check-config", "--format",
                             "kubestatus2cloudwatch", str(path)], capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 1 and "Traceback" not in result.stderr


def test_an_unknown_mode_is_one_line(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text("metric: {namespace: N, name: M}\ntargets:\n  - {kind: Deployment, namespace: a, name: b, "
                    "mode: AtLeastTwo}\n")
    assert errors(path) == [(f"{path}:3: targets.0.mode: must be 'AllOfThem' or 'AtLeastOne', or a mapping with "
                            "AtLeast or Percent; got 'AtLeastTwo'; did you mean 'AtLeastOne'?")]


def test_a_quoted_dry_run_is_a_type_error_as_in_go(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text('dryRun: "false"\nmetric: {namespace: N, name: M}\ntargets: []\n')
    assert errors(path) == [(f"{path}:1: dryRun: expected true or false; got 'false' (kubestatus2cloudwatch decodes it "
                            'into a Go bool, so a string such as "true" is an error there too)')]
