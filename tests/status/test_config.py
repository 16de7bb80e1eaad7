"""The `status:` section and the kubestatus2cloudwatch importer through `kubevigil.config.load`."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from kubevigil.catalog import load
from kubevigil.config import ConfigError
from tests.anchors import ANCHORS as ANCHOR_DIR

ANCHORS = ANCHOR_DIR / "kubestatus2cloudwatch"

NATIVE = """\
sinks:
  cw: {{cloudwatch: {{namespace: EKS/Health}}}}
status:
  seconds: {seconds}
  metric: {metric}
  targets:
    - {target}
  sinks: [cw]
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.yaml"
    path.write_text(text)
    return path


def native(tmp_path: Path, *, seconds: str = "60", metric: str = "{name: ClusterHealthy}",
           target: str = "{kind: Deployment, namespace: shop, name: web}") -> Path:
    return write(tmp_path, NATIVE.format(seconds=seconds, metric=metric, target=target))


def errors(path: Path) -> str:
    with pytest.raises(ConfigError) as info:
        load(path)
    return str(info.value)


def test_native_section_loads(tmp_path: Path) -> None:
    target = '{kind: Node, mode: {Percent: 90}}'
    settings = load(native(tmp_path, target=target)).settings
    assert settings.status.targets[0].key == "Node/*"
    assert settings.status.metric.cluster_dimension == "Cluster"


def test_unknown_kind(tmp_path: Path) -> None:
    out = errors(native(tmp_path, target="{kind: Deploymint, namespace: shop, name: web}"))
    assert "config.yaml:7: status.targets.0.kind: must be 'Deployment'" in out and "got 'Deploymint'" in out


def test_bad_selector(tmp_path: Path) -> None:
    out = errors(native(tmp_path, target='{kind: Deployment, selector: "app in (a"}'))
    assert "status.targets.0.selector: selector 'app in (a' is not a valid label selector" in out


def test_missing_metric_name(tmp_path: Path) -> None:
    out = errors(native(tmp_path, metric="{unit: Count}"))
    assert "config.yaml:5: status.metric.name: required key is missing" in out


def test_negative_seconds(tmp_path: Path) -> None:
    out = errors(native(tmp_path, seconds="-5"))
    assert "config.yaml:4: status.seconds: must be greater than 0 (got -5)" in out


def test_named_target_needs_namespace_and_no_selector(tmp_path: Path) -> None:
    assert "a named Deployment needs `namespace`" in errors(native(tmp_path, target="{kind: Deployment, name: web}"))
    out = errors(native(tmp_path, target='{kind: Deployment, namespace: a, name: web, selector: "x=y"}'))
    assert "cannot be combined with `selector`" in out


def test_sink_reference_checked(tmp_path: Path) -> None:
    path = write(tmp_path, NATIVE.format(seconds=60, metric="{name: H}", target="{kind: Node}").replace(
        "sinks: [cw]", "sinks: [cx]"))
    assert "status.sinks.0" in errors(path)


@pytest.mark.parametrize("name", ["config-example.yaml", "config-minimal.yaml"])
def test_anchor_configs_load_unchanged(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    shutil.copy(ANCHORS / name, path)
    loaded = load(path)
    assert loaded.format == "kubestatus2cloudwatch"
    assert loaded.warnings == []
    s = loaded.settings
    assert s.sinks["cloudwatch"].params.namespace == "MyNamespace"
    assert s.status.metric.name == "MyMetric"
    assert s.status.metric.cluster_dimension is None
    assert s.status.sinks == ["cloudwatch"]
    t = s.status.targets[0]
    assert (t.kind, t.namespace, t.name, t.mode) == ("StatefulSet", "observability", "prometheus", "AllOfThem")
    expected = {"Cluster": "MyCluster"} if name == "config-example.yaml" else {}
    assert s.status.metric.dimensions == expected


def test_importer_warns_on_values_treated_differently(tmp_path: Path) -> None:
    path = write(tmp_path, """\
dryRun: true
seconds: 0
logging: {level: debug, format: logfmt}
metric: {namespace: NS, name: M}
targets:
  - {kind: Deployment, namespace: a, name: b, mode: AtLeastOne}
""")
    loaded = load(path)
    assert loaded.settings.status.seconds == 60
    assert loaded.settings.status.sinks == ["dry_run"] and list(loaded.settings.sinks) == ["dry_run"]
    assert loaded.settings.sinks["dry_run"].type == "stdout"
    assert loaded.settings.logging.format == "console"
    text = "\n".join(loaded.warnings)
    assert "seconds: 0 is not an interval; kubevigil publishes every 60 s" in text
    assert "logging.format: logfmt" in text
    assert "targets[0].mode: AtLeastOne" in text
    assert "dryRun: true: kubevigil puts nothing to CloudWatch (namespace 'NS' is not used)" in text


def test_importer_errors_point_at_original_keys(tmp_path: Path) -> None:
    path = write(tmp_path, """\
metric:
  namespace: NS
  nmae: M
targets:
  - {kind: Deployment, namespace: a, name: b, mode: Sometimes}
""")
    out = errors(path)
    assert "config.yaml:3: metric.nmae: unknown key 'nmae'; did you mean 'name'?" in out


def test_importer_validation_errors_map_back(tmp_path: Path) -> None:
    path = write(tmp_path, """\
seconds: -1
metric: {namespace: NS, name: M}
targets:
  - {kind: Deployment, namespace: a, name: b, mode: Sometimes}
""")
    out = errors(path)
    assert "config.yaml:1: seconds: must be greater than 0" in out
    assert "config.yaml:4: targets.0.mode" in out
