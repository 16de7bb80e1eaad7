"""`sim serve`, the pytest plugin fixtures, and unit tests of selectors and patches."""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

import pytest
import yaml

from kubevigil.kube.selectors import parse_label_selector, selector_from_spec
from kubevigil.sim.cluster import Cluster
from kubevigil.sim.patch import PatchError, json_patch, merge_patch, strategic_merge_patch
from kubevigil.sim.serve import add_sim_parser, serve
from tests.conditions import eventually

KUBECTL = str(Path(sys.executable).parent / "kubectl")


async def test_serve_writes_kubeconfig_and_answers_kubectl(tmp_path: Path) -> None:
    stop = asyncio.Event()
    kubeconfig = tmp_path / "kc.yaml"
    task = asyncio.create_task(serve(0, kubeconfig, nodes=2, workloads=False, stop=stop))
    await eventually(lambda: kubeconfig.exists() or task.done(), timeout=10, interval=0.02)
    assert not task.done()
    assert yaml.safe_load(kubeconfig.read_text())["current-context"] == "kubevigil-sim"
    proc = await asyncio.create_subprocess_exec(
        KUBECTL, "get", "nodes", env={"KUBECONFIG": str(kubeconfig), "HOME": str(tmp_path)},
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(proc.communicate(), timeout=30)
    stop.set()
    await asyncio.wait_for(task, timeout=10)
    lines = out.decode().splitlines()
    assert lines[0].split() == ["NAME", "STATUS", "ROLES", "AGE", "VERSION"], err.decode()
    assert [ln.split()[:2] for ln in lines[1:]] == [["node-1", "Ready"], ["node-2", "Ready"]]


def test_add_sim_parser() -> None:
    parser = argparse.ArgumentParser(prog="kubevigil")
    add_sim_parser(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["sim", "serve", "--port", "0", "--kubeconfig-out", "/tmp/x"])
    assert args.func.__name__ == "run_serve" and args.kubeconfig_out == Path("/tmp/x")


async def test_plugin_fixtures(sim_cluster: Cluster, sim_kubeconfig: Path) -> None:
    config = yaml.safe_load(sim_kubeconfig.read_text())
    assert config["clusters"][0]["cluster"]["server"] == sim_cluster.url.rstrip("/")


def test_label_selector_parse_and_errors() -> None:
    sel = parse_label_selector("app in (a, b),tier!=db,!legacy,env")
    assert sel.matches({"app": "a", "env": "x"})
    assert not sel.matches({"app": "a", "env": "x", "legacy": "1"})
    assert not sel.matches({"app": "c", "env": "x"})
    assert str(parse_label_selector("a==b")) == "a=b"
    for bad in ("a in ()", "a=b,", "=x", "a in (b"):
        with pytest.raises(ValueError, match="invalid label selector"):
            parse_label_selector(bad)
    spec = {"matchLabels": {"app": "x"}, "matchExpressions": [{"key": "t", "operator": "NotIn", "values": ["y"]}]}
    assert selector_from_spec(spec).matches({"app": "x"}) and not selector_from_spec(spec).matches({"app": "x", "t": "y"})


def test_patches() -> None:
    doc = {"metadata": {"labels": {"a": "1"}, "finalizers": ["x"]},
           "spec": {"containers": [{"name": "c", "image": "i", "env": [{"name": "A", "value": "1"}]},
                                   {"name": "d", "image": "j"}]}}
    assert merge_patch(doc, {"metadata": {"labels": {"a": None, "b": "2"}}})["metadata"]["labels"] == {"b": "2"}
    smp = strategic_merge_patch(doc, {
        "metadata": {"finalizers": ["y"]},
        "spec": {"containers": [{"name": "c", "env": [{"name": "B", "value": "2"}]}, {"name": "d", "$patch": "delete"}]},
    })
    assert smp["metadata"]["finalizers"] == ["x", "y"]
    assert smp["spec"]["containers"] == [{"name": "c", "image": "i", "env": [{"name": "A", "value": "1"},
                                                                           {"name": "B", "value": "2"}]}]
    assert doc["spec"]["containers"][1] == {"name": "d", "image": "j"}  # input untouched
    assert strategic_merge_patch(doc, {"spec": {"$retainKeys": ["x"], "x": 1}})["spec"] == {"x": 1}
    jp = json_patch(doc, [{"op": "replace", "path": "/spec/containers/0/image", "value": "k"},
                          {"op": "move", "from": "/metadata/labels/a", "path": "/metadata/labels/z"},
                          {"op": "test", "path": "/metadata/labels/z", "value": "1"}])
    assert jp["spec"]["containers"][0]["image"] == "k" and jp["metadata"]["labels"] == {"z": "1"}
    with pytest.raises(PatchError, match="does not exist"):
        json_patch(doc, [{"op": "remove", "path": "/nope"}])
