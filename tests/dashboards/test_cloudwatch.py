"""The CloudWatch dashboard's shape for a config: which widgets, where, with which periods, and one clear line when
it cannot be built (tests/dashboards/test_cloudwatch_e2e.py checks its metrics against moto)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from kubevigil.catalog import load
from kubevigil.cli import main
from kubevigil.dashboards.cloudwatch import DashboardError, Place, dashboard, search
from tests.dashboards.published import named_metrics

STATUS = {"seconds": 10, "metric": {"name": "ClusterHealthy", "dimensions": {"Team": "platform"}},
          "targets": [{"kind": "Node"}], "sinks": ["cw"]}


def settings_of(tmp_path: Path, config: dict[str, Any]) -> Any:
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump({"cluster": {"name": "prod-eks"}, **config}))
    return load(path).settings


def run_cli(tmp_path: Path, config: dict[str, Any], capsys: pytest.CaptureFixture[str],
            *extra: str) -> tuple[int, str, str]:
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump({"cluster": {"name": "prod-eks"}, **config}))
    code = main(["dashboards", "cloudwatch", "--config", str(path), *extra])
    out, err = capsys.readouterr()
    return code, out, err


def test_status_heartbeat_only_without_per_target(tmp_path: Path) -> None:
    settings = settings_of(tmp_path, {"sinks": {"cw": {"cloudwatch": {"namespace": "EKS/Health",
                                                                       "region": "eu-west-1"}}}, "status": STATUS})
    body = dashboard(settings, None)
    header, heartbeat = body["widgets"]
    assert header["type"] == "text" and "prod-eks" in header["properties"]["markdown"]
    props = heartbeat["properties"]
    assert props["region"] == "eu-west-1" and props["period"] == 60  # 10 s values, standard resolution
    assert props["metrics"] == [["EKS/Health", "ClusterHealthy", "Cluster", "prod-eks", "Team", "platform",
                                 {"stat": "Minimum", "label": "ClusterHealthy"}]]


def test_per_target_high_resolution_emf(tmp_path: Path) -> None:
    config = {"sinks": {"emf": {"emf": {"namespace": "My Health", "storage_resolution": 1}}},
              "status": {**STATUS, "per_target": True, "sinks": ["emf"]}}
    body = dashboard(settings_of(tmp_path, config), "us-east-1")
    targets = body["widgets"][2]["properties"]
    assert targets["region"] == "us-east-1" and targets["period"] == 10
    (named,) = named_metrics({"widgets": [body["widgets"][2]]})
    assert (named.namespace, named.dimensions) == ("My Health", frozenset({"Cluster", "Team", "target"}))
    assert dict(named.values) == {"Cluster": "prod-eks", "Team": "platform"}
    assert targets["metrics"][0][0]["expression"].startswith("""SEARCH('{"My Health",Cluster,Team,target} """)


def test_only_roles_with_cloudwatch_sinks_get_widgets(tmp_path: Path) -> None:
    config = {"sinks": {"cw": {"cloudwatch": {"namespace": "EKS/Health", "region": "eu-west-1"}},
                        "prom": {"prometheus": {}}},
              "status": STATUS,
              "nurse": {"service_url": "http://nurse.kube-nurse:8080", "extra_checks": {"google": "https://x.test/"},
                        "metrics": {"sinks": ["prom"]}},
              "checks": {"sinks": {"metrics": ["cw"]}}}
    body = dashboard(settings_of(tmp_path, config), None)
    names = {n.name for n in named_metrics(body)}
    assert names == {"ClusterHealthy", "HealthCheckSucceeded"}  # nurse publishes only to Prometheus here

    config["nurse"]["metrics"]["sinks"] = ["cw"]
    body = dashboard(settings_of(tmp_path, config), None)
    latency = next(w for w in body["widgets"] if w["properties"].get("title", "").startswith("Nurse p99"))
    labels = [m[0]["label"] for m in latency["properties"]["metrics"]]
    assert labels == ["api_server_direct", "api_server_dns", "me_service", "google", "neighbours"]
    assert all(m[0]["expression"].startswith("MAX(SEARCH(") for m in latency["properties"]["metrics"])


def test_widgets_never_overlap(tmp_path: Path) -> None:
    config = {"sinks": {"cw": {"cloudwatch": {"namespace": "EKS/Health", "region": "eu-west-1"}}},
              "status": {**STATUS, "per_target": True}, "scrape": {"cluster_id": "prod", "sinks": ["cw"]},
              "nurse": {"metrics": {"sinks": ["cw"]}}, "checks": {"sinks": {"metrics": ["cw"]}}}
    widgets = dashboard(settings_of(tmp_path, config), None)["widgets"]
    cells = set()
    for w in widgets:
        assert w["x"] + w["width"] <= 24
        area = {(x, y) for x in range(w["x"], w["x"] + w["width"]) for y in range(w["y"], w["y"] + w["height"])}
        assert not area & cells, w["properties"].get("title")
        cells |= area


def test_scrape_needs_a_known_cluster_id(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.delenv("AWS_CLUSTER_ID", raising=False)
    config = {"sinks": {"cw": {"cloudwatch": {"namespace": "Kubernetes", "region": "eu-west-1"}}},
              "scrape": {"sinks": ["cw"]}}
    code, out, err = run_cli(tmp_path, config, capsys)
    assert (code, out) == (1, "")
    assert err.count("\n") == 1 and "scrape.cluster_id or AWS_CLUSTER_ID" in err and "Traceback" not in err
    monkeypatch.setenv("AWS_CLUSTER_ID", "from-env")
    code, out, _ = run_cli(tmp_path, config, capsys)
    assert code == 0 and {dict(n.values)["CLUSTER_ID"] for n in named_metrics(json.loads(out))} == {"from-env"}


@pytest.mark.parametrize(("config", "says"), [
    ({"sinks": {"prom": {"prometheus": {}}}, "status": {**STATUS, "sinks": ["prom"]}}, "would be empty"),
    ({"sinks": {"cw": {"cloudwatch": {"namespace": "EKS/Health"}}}, "status": STATUS}, "sinks.cw: no AWS region"),
    ({"sinks": {"cw": {"cloudwatch": {"namespace": "EKS/Health", "region": "eu-west-1"}}},
      "status": {**STATUS, "metric": {"name": "ClusterHealthy", "dimensions": {"Team": 'plat"form'}},
                 "per_target": True}}, "cannot hold quotes"),
], ids=["nothing to show", "no region", "a quote in a value"])
def test_one_line_when_it_cannot_be_built(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                          capsys: pytest.CaptureFixture[str], config: dict[str, Any],
                                          says: str) -> None:
    for name in ("AWS_REGION", "AWS_DEFAULT_REGION"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    code, out, err = run_cli(tmp_path, config, capsys)
    assert (code, out) == (1, "")
    assert err.count("\n") == 1 and says in err and str(tmp_path / "config.yaml") in err, err


def test_a_bad_dashboard_name_is_refused_before_calling_aws(tmp_path: Path,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    config = {"sinks": {"cw": {"cloudwatch": {"namespace": "EKS/Health", "region": "eu-west-1",
                                              "endpoint_url": "http://127.0.0.1:9"}}}, "status": STATUS}
    code, _, err = run_cli(tmp_path, config, capsys, "--apply", "--name", "no spaces please")
    assert code == 1 and "dashboard name 'no spaces please'" in err and err.count("\n") == 1


def test_search_quotes_names_that_need_it() -> None:
    place = Place("EKS/Health", "eu-west-1", 60)
    assert search(place, "M", ["Cluster", "my dim"], {"Cluster": "a b"}, "Minimum", 60) == (
        """SEARCH('{EKS/Health,Cluster,"my dim"} MetricName="M" Cluster="a b"', 'Minimum', 60)""")
    with pytest.raises(DashboardError):
        search(place, "M", ["Cluster"], {"Cluster": "it's"}, "Minimum", 60)
