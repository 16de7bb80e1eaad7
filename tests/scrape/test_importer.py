"""cni-metrics-helper's environment (its manifests and Helm values) translates to a valid native config."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from kubevigil.catalog import load
from kubevigil.config.importers.cni_metrics_helper import from_environment
from kubevigil.config.issues import ConfigError
from tests.anchors import ANCHORS

CNI = ANCHORS / "cni-metrics-helper"
MANIFESTS = [CNI / "cni-metrics-helper.yaml", *sorted((CNI / "upstream" / "config" / "master").glob("*.yaml"))]


def manifest_env(path: Path) -> dict[str, str]:
    """The env of the cni-metrics-helper container, as the kubelet would set it."""
    for doc in yaml.safe_load_all(path.read_text()):
        if doc and doc.get("kind") == "Deployment":
            (container,) = doc["spec"]["template"]["spec"]["containers"]
            return {e["name"]: e.get("value", "") for e in container.get("env", [])}
    raise AssertionError(f"no Deployment in {path}")


def validated(native: dict[str, Any], tmp_path: Path) -> Any:
    path = tmp_path / "translated.yaml"
    path.write_text(yaml.safe_dump(native))
    return load(path, environ={}).settings


@pytest.mark.parametrize("manifest", MANIFESTS, ids=lambda p: p.name)
def test_the_original_manifests_translate(manifest: Path, tmp_path: Path) -> None:
    env = manifest_env(manifest)
    assert env == {"AWS_CLUSTER_ID": "", "AWS_VPC_K8S_CNI_LOGLEVEL": "INFO", "USE_CLOUDWATCH": "true",
                   "USE_PROMETHEUS": "false"}
    native, warnings = from_environment(env)
    assert warnings == []
    settings = validated(native, tmp_path)
    assert settings.logging.level == "info"
    assert settings.sinks["cloudwatch"].params.namespace == "Kubernetes"
    section = settings.scrape
    assert section.cluster_id is None  # "" is unset: AWS_CLUSTER_ID, then the instance's tags at run time
    assert section.cluster_dimension == "CLUSTER_ID"
    (job,) = section.jobs
    assert (job.namespace, job.selector, job.port, job.path, job.interval) == (
        "kube-system", "k8s-app=aws-node", 61678, "/metrics", 30)
    assert [r.name for r in job.rule_list()][:2] == ["assignIPAddresses", "totalIPAddresses"]
    assert section.sinks == ["cloudwatch"] and section.prometheus_sinks == []


@pytest.mark.parametrize("values", [CNI / "upstream" / "charts" / "cni-metrics-helper" / "values.yaml",
                                    CNI / "upstream" / "test" / "helm" / "charts" / "cni-metrics-helper" / "values.yaml"],
                         ids=["chart", "test-chart"])
def test_helm_values_env_translates(values: Path, tmp_path: Path) -> None:
    # Both charts render `env:` into the container as name/value pairs, stringified.
    env = {k: str(v) for k, v in yaml.safe_load(values.read_text())["env"].items()}
    native, _ = from_environment(env)
    assert validated(native, tmp_path).scrape.sinks == ["cloudwatch"]


def test_every_variable(tmp_path: Path) -> None:
    native, warnings = from_environment({
        "USE_CLOUDWATCH": "YES", "USE_PROMETHEUS": "True", "AWS_CLUSTER_ID": "prod-eks",
        "METRIC_UPDATE_INTERVAL": "+15", "AWS_VPC_K8S_CNI_LOGLEVEL": "warn", "AWS_REGION": "eu-west-1",
        "CLUSTER_ENDPOINT": "https://example.invalid", "AWS_EC2_METADATA_DISABLED": "true"})
    settings = validated(native, tmp_path)
    assert settings.logging.level == "warning"
    assert settings.sinks["cloudwatch"].params.region == "eu-west-1"
    assert settings.sinks["prometheus"].params.prefix == ""
    assert settings.server.listen == "0.0.0.0:61681"  # where the original served its gauges
    assert settings.scrape.cluster_id == "prod-eks"
    assert settings.scrape.imds.enabled is False
    assert settings.scrape.jobs[0].interval == 15 and settings.scrape.jobs[0].timeout == 7.5
    assert settings.scrape.prometheus_sinks == ["prometheus"]
    assert "CLUSTER_ENDPOINT" in warnings[0]


def test_defaults_of_an_empty_environment(tmp_path: Path) -> None:
    settings = validated(from_environment({})[0], tmp_path)
    assert settings.logging.level == "debug"  # the original's default
    assert settings.scrape.sinks == ["cloudwatch"] and settings.scrape.jobs[0].interval == 30


@pytest.mark.parametrize(("env", "message"), [
    ({"USE_CLOUDWATCH": "1"}, "USE_CLOUDWATCH: '1' is not a boolean"),
    ({"USE_PROMETHEUS": "on"}, "USE_PROMETHEUS: 'on' is not a boolean"),
    ({"METRIC_UPDATE_INTERVAL": "30s"}, "METRIC_UPDATE_INTERVAL: '30s' is not an integer"),
    ({"METRIC_UPDATE_INTERVAL": ""}, "METRIC_UPDATE_INTERVAL: '' is not an integer"),
    ({"METRIC_UPDATE_INTERVAL": "0"}, "METRIC_UPDATE_INTERVAL: 0 must be at least 1 second"),
    ({"AWS_VPC_K8S_CNI_LOGLEVEL": "verbose"}, "AWS_VPC_K8S_CNI_LOGLEVEL: 'verbose' is not a log level"),
    ({"USE_CLOUDWATCH": "false"}, "USE_CLOUDWATCH: USE_CLOUDWATCH and USE_PROMETHEUS are both false"),
])
def test_bad_values_name_the_variable(env: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError) as info:
        from_environment(env)
    assert str(info.value).startswith(message)
    assert "Traceback" not in str(info.value)


def test_every_bad_variable_at_once() -> None:
    with pytest.raises(ConfigError) as info:
        from_environment({"USE_CLOUDWATCH": "maybe", "METRIC_UPDATE_INTERVAL": "x"})
    assert [i.path for i in info.value.issues] == ["USE_CLOUDWATCH", "METRIC_UPDATE_INTERVAL"]


def test_drop_in_deployment_runs_the_role_on_the_original_env(tmp_path: Path) -> None:
    root = Path(__file__).resolve().parents[2]
    deployment = yaml.safe_load((root / "deploy" / "roles" / "scrape" / "cni-metrics-helper" / "deployment.yaml")
                                .read_text())
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    assert container["args"] == ["run", "--role", "scrape"]
    env = {e["name"]: e["value"] for e in container["env"] if "value" in e}
    assert env.pop("KUBEVIGIL_CONFIG") == ""  # the image's default config path is switched off
    assert env == manifest_env(CNI / "cni-metrics-helper.yaml")  # the original's variables, unchanged
    assert validated(from_environment(env)[0], tmp_path).scrape.sinks == ["cloudwatch"]
