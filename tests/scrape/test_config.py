"""The `scrape:` section: defaults, mistakes caught at load time, and the RBAC a section needs."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from kubevigil.catalog import load
from kubevigil.config.issues import ConfigError
from kubevigil.roles.scrape import rbac
from kubevigil.roles.scrape.config import ScrapeSection


def load_section(tmp_path: Path, section: dict) -> ScrapeSection:
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump({"sinks": {"cw": {"cloudwatch": {"namespace": "Kubernetes"}}}, "scrape": section}))
    return load(path, environ={}).settings.scrape


def test_minimal_section_is_cni_metrics_helper(tmp_path: Path) -> None:
    section = load_section(tmp_path, {"sinks": ["cw"]})
    (job,) = section.jobs
    assert job.name == "aws-node" and job.via == "direct" and job.rules == "cni-metrics-helper"
    assert len(job.rule_list()) == 20
    assert rbac(section) == [{"apiGroups": [""], "resources": ["pods"], "verbs": ["list", "watch"]}]


def test_proxy_mode_adds_pods_proxy_get(tmp_path: Path) -> None:
    section = load_section(tmp_path, {"sinks": ["cw"], "jobs": [{"name": "aws-node", "via": "proxy"}]})
    assert {"apiGroups": [""], "resources": ["pods/proxy"], "verbs": ["get"]} in rbac(section)


@pytest.mark.parametrize(("section", "message"), [
    ({"sinks": ["nope"]}, "nope"),
    ({}, "`sinks` and `prometheus_sinks` are both empty"),
    ({"sinks": ["cw"], "jobs": [{"name": "a", "interval": 5, "timeout": 5}]}, "must be shorter than interval"),
    ({"sinks": ["cw"], "jobs": [{"name": "a", "selector": "app in (x"}]}, "not a valid label selector"),
    ({"sinks": ["cw"], "jobs": [{"name": "a", "rules": [{"metric": "x", "name": "X", "aggregate": "sum",
                                                         "quantile": 0.9}]}]}, "`quantile` needs aggregate max or min"),
    ({"sinks": ["cw"], "jobs": [{"name": "a", "rules": [{"metric": "x-y", "name": "X"}]}]}, "not a Prometheus metric"),
    ({"sinks": ["cw"], "jobs": [{"name": "a", "rules": [{"metric": "x", "name": "X"}, {"metric": "y", "name": "X"}]}]},
     "publish ['X'] twice"),
    ({"sinks": ["cw"], "jobs": [{"name": "a"}, {"name": "a"}]}, "appear twice"),
    ({"sinks": ["cw"], "jobs": [{"name": "a", "breakdown": {"by": "node", "rules": ["nope"]}}]}, "no rule publishes"),
    ({"sinks": ["cw"], "jobs": [{"name": "a", "via": "tunnel"}]}, "via"),
])
def test_mistakes_are_reported_at_load(tmp_path: Path, section: dict, message: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_section(tmp_path, section)
    assert message in str(info.value)
    assert "scrape" in str(info.value)


def test_the_examples_in_docs_load(tmp_path: Path) -> None:
    blocks = (Path(__file__).resolve().parents[2] / "docs" / "scrape.md").read_text().split("```yaml\n")[1:]
    config = yaml.safe_load(blocks[0].split("```", 1)[0])
    coredns = yaml.safe_load(blocks[2].split("```", 1)[0])["jobs"]
    config["scrape"]["jobs"] += coredns
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(config))
    section = load(path, environ={}).settings.scrape
    assert [j.name for j in section.jobs] == ["aws-node", "coredns"]
    assert [r.name for r in section.jobs[1].rule_list()] == ["DnsRequests", "DnsServfail", "DnsLatency", "DnsResponses"]
