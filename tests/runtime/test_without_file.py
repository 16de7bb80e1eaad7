"""`kubevigil run --role X` and `check-config --role X` where no config file exists (the image names
/etc/kubevigil/config.yaml; the replaced tools' manifests mount none): each role's defaults, or its original's
environment variables read through that tool's importer. Driven through the real CLI in subprocesses with the
variables of the original manifests in tests/anchors, against `kubevigil sim serve`, moto and loopback exporters."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import random
import subprocess
import sys
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from aiohttp import web

from kubevigil.kube.client import KubeApi, connect
from kubevigil.kube.errors import ApiError
from kubevigil.kube.resources import by_kind
from kubevigil.sinks.aws import AwsParams, make_client
from tests.anchors import ANCHORS
from tests.conditions import eventually
from tests.loopback import free_port, http_get
from tests.scrape.harness import Exporters
from tests.scrape.test_clusterid import FakeImds

MISSING = "/etc/kubevigil/config.yaml.absent"  # where the image's KUBEVIGIL_CONFIG points, with nothing there


def manifest_env(path: Path, kind: str) -> dict[str, str]:
    """The plain `value:` variables of the manifest's one container."""
    (workload,) = [d for d in yaml.safe_load_all(path.read_text()) if d and d["kind"] == kind]
    (container,) = workload["spec"]["template"]["spec"]["containers"]
    return {e["name"]: e["value"] for e in container.get("env", []) if "value" in e}


CNI_ENV = manifest_env(ANCHORS / "cni-metrics-helper" / "cni-metrics-helper.yaml", "Deployment")
NURSE_ENV = manifest_env(ANCHORS / "kubenurse" / "daemonset.yaml", "DaemonSet")


def pod_environ(env: dict[str, str]) -> dict[str, str]:
    """`env` as a container sees it: this machine's variables without any the test did not mean to set, and the
    image's KUBEVIGIL_CONFIG naming a file that is not there."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("KUBENURSE_", "AWS_", "KUBEVIGIL_"))}
    return {**clean, "KUBEVIGIL_CONFIG": MISSING, "PYTHONUNBUFFERED": "1", **env}


def kubevigil(*args: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "kubevigil.cli", *args], capture_output=True, text=True,
                          timeout=60, cwd=cwd, env=pod_environ(env))


@contextlib.asynccontextmanager
async def running(role: str, env: dict[str, str], log: Path) -> AsyncIterator[asyncio.subprocess.Process]:
    """`kubevigil run --role <role>` with no config file, stopped with SIGTERM at the end: it must exit 0."""
    proc = await asyncio.create_subprocess_exec(sys.executable, "-m", "kubevigil.cli", "run", "--role", role,
                                                cwd=log.parent, env=pod_environ(env), stdout=log.open("wb"),
                                                stderr=subprocess.STDOUT)
    try:
        yield proc
    finally:
        if proc.returncode is None:
            proc.terminate()
        await asyncio.wait_for(proc.wait(), 30)
    assert proc.returncode == 0, log.read_text()[-3000:]


def test_check_config_role_scrape_translates_the_cni_metrics_helper_manifest(tmp_path: Path) -> None:
    result = kubevigil("check-config", "--role", "scrape", env=CNI_ENV, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stderr.startswith(f"# no config file ({MISSING}: config file from $KUBEVIGIL_CONFIG does not "
                                    "exist); scrape configured from cni-metrics-helper\n")
    native = yaml.safe_load(result.stdout)
    assert list(native["sinks"]) == ["cloudwatch"] and native["sinks"]["cloudwatch"]["cloudwatch"]["namespace"] == (
        "Kubernetes")
    assert native["scrape"]["jobs"][0]["name"] == "aws-node" and native["scrape"]["sinks"] == ["cloudwatch"]
    assert native["leader_election"]["enabled"] is False  # one replica, no Lease, as the original
    assert native["logging"]["level"] == "info"


def test_check_config_role_nurse_translates_the_kubenurse_daemonset(tmp_path: Path) -> None:
    result = kubevigil("check-config", "--role", "nurse", env=NURSE_ENV, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    native = yaml.safe_load(result.stdout)
    assert native["nurse"]["neighbours"]["namespace"] == "kube-nurse"
    assert native["nurse"]["ingress_url"] == "https://kubenurse.example.com"
    assert native["server"]["listen"] == "0.0.0.0:8080"


def test_check_config_role_checks_uses_its_default_section(tmp_path: Path) -> None:
    result = kubevigil("check-config", "--role", "checks", env={"KUBEVIGIL_LISTEN": "127.0.0.1:9999"}, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    native = yaml.safe_load(result.stdout)
    assert native["checks"]["namespaces"] == [] and native["server"]["listen"] == "127.0.0.1:9999"


def test_a_role_without_defaults_needs_a_file_and_a_bad_variable_is_named(tmp_path: Path) -> None:
    result = kubevigil("run", "--role", "status", env={}, cwd=tmp_path)
    assert result.returncode == 1
    assert "status has no defaults: it needs a config file with a `status:` section" in result.stderr
    result = kubevigil("run", "--role", "scrape", env={"METRIC_UPDATE_INTERVAL": "soon"}, cwd=tmp_path)
    assert result.returncode == 1 and result.stderr.strip().splitlines()[-1] == (
        "METRIC_UPDATE_INTERVAL: 'soon' is not an integer number of seconds")
    result = kubevigil("run", "--role", "scrape", "--role", "nurse", env={"USE_PROMETHEUS": "true"}, cwd=tmp_path)
    assert result.returncode == 1 and "server.listen: the roles' defaults disagree ('0.0.0.0:61681' and " \
                                      "'0.0.0.0:8080')" in result.stderr
    # Valid settings a sink's client library refuses at start: one line, no traceback.
    result = kubevigil("run", "--role", "scrape", env={"KUBECONFIG": str(tmp_path / "none")}, cwd=tmp_path)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert "kubevigil: cannot start: sinks.cloudwatch (cloudwatch): You must specify a region.\n" in result.stderr
    # An explicit --config that does not exist stays an error: only the looked-for default may be absent.
    result = kubevigil("run", "--role", "checks", "--config", str(tmp_path / "nope.yaml"), env={}, cwd=tmp_path)
    assert result.returncode == 1 and "does not exist" in result.stderr


async def until(condition: Callable[[], object], log: Path, timeout: float = 60) -> object:
    """`eventually`, and the process's log when it does not come."""
    try:
        return await eventually(condition, timeout=timeout)
    except AssertionError as exc:
        raise AssertionError(f"{exc}\n--- log:\n{log.read_text(errors='replace')[-4000:]}") from None


@pytest.fixture
async def api(emulator_kubeconfig: Path) -> AsyncIterator[KubeApi]:
    client = await connect(str(emulator_kubeconfig))
    yield client
    await client.aclose()


@pytest.fixture
async def imds() -> AsyncIterator[str]:
    runner = web.AppRunner(FakeImds(tags={"eks:cluster-name": "e2e"}).app())
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    yield f"http://127.0.0.1:{runner.addresses[0][1]}"
    await runner.cleanup()


IPAMD_PORT = 61678  # where cni-metrics-helper (and the scrape role's default job) finds ipamd on each pod


async def ipamd_on_port(port: int, count: int, body: bytes) -> Exporters:
    """`count` loopback addresses of a free block, each serving `body` on ipamd's own port."""
    exporters = Exporters()
    app = web.Application()
    app.router.add_get("/metrics", exporters._handle)
    exporters._runner = web.AppRunner(app, access_log=None)
    await exporters._runner.setup()
    for _ in range(20):  # another test run may hold a block: pick another
        prefix = f"127.{random.randint(64, 250)}.{random.randint(0, 255)}."
        try:
            for i in range(count):
                await web.TCPSite(exporters._runner, f"{prefix}{10 + i}", port).start()
        except OSError:
            for site in list(exporters._runner.sites):
                await site.stop()
            continue
        exporters.bodies = {f"{prefix}{10 + i}": body for i in range(count)}
        return exporters
    raise AssertionError("no free loopback block")


async def aws_node(api: KubeApi, name: str, ip: str) -> None:
    """An aws-node pod of the DaemonSet, Running on its node with a loopback pod IP (as a kubelet reports it)."""
    pods = by_kind("Pod")
    await api.create(pods, "kube-system", {"metadata": {"name": name, "namespace": "kube-system",
                                                        "labels": {"k8s-app": "aws-node"}},
                                           "spec": {"nodeName": "node-0", "hostNetwork": True,
                                                    "containers": [{"name": "aws-node", "image": "cni:1"}]}})
    status = {"phase": "Running", "podIP": ip, "hostIP": ip, "conditions": [{"type": "Ready", "status": "True"}]}
    await api.patch(pods, "kube-system", name, {"status": status}, subresource="status")


async def test_run_role_scrape_with_the_cni_metrics_helper_manifest_publishes_to_cloudwatch(
        emulator_kubeconfig: Path, api: KubeApi, imds: str, aws_env: str, tmp_path: Path) -> None:
    with contextlib.suppress(ApiError):  # the emulator may have it already
        await api.create(by_kind("Namespace"), None, {"metadata": {"name": "kube-system"}})
    sample = (ANCHORS / "cni-metrics-helper" / "ipamd-metrics-sample.txt").read_bytes()
    exporters = await ipamd_on_port(IPAMD_PORT, 2, sample)
    for i, ip in enumerate(exporters.bodies):
        await aws_node(api, f"aws-node-{i}", ip)
    port = free_port()
    env = {**CNI_ENV,  # the manifest's variables, unchanged; what the pod has besides them:
           "KUBECONFIG": str(emulator_kubeconfig), "POD_NAME": "cni-metrics-helper-0", "POD_NAMESPACE": "kube-system",
           "AWS_EC2_METADATA_SERVICE_ENDPOINT": imds, "AWS_ENDPOINT_URL": aws_env, "AWS_REGION": "eu-west-1",
           "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
           # and, for a test on one machine: a loopback listener, a scratch state, a short interval
           "KUBEVIGIL_LISTEN": f"127.0.0.1:{port}", "KUBEVIGIL_STATE_DIR": str(tmp_path / "state"),
           "METRIC_UPDATE_INTERVAL": "2"}
    log = tmp_path / "scrape.log"
    cloudwatch = make_client("cloudwatch", AwsParams(endpoint_url=aws_env))

    def published() -> list[dict[str, Any]]:
        listed = cloudwatch.list_metrics(Namespace="Kubernetes", MetricName="assignIPAddresses")["Metrics"]
        return [m for m in listed if {"Name": "CLUSTER_ID", "Value": "e2e"} in m["Dimensions"]]

    async with running("scrape", env, log) as proc:
        await until(lambda: proc.returncode is None and http_get(f"http://127.0.0.1:{port}/readyz")[0] == 200, log)
        _, body = http_get(f"http://127.0.0.1:{port}/api/process")
        process = json.loads(body)
        assert process["roles"]["scrape"]["state"] == "running" and process["leader_election"] is None
        _, body = http_get(f"http://127.0.0.1:{port}/api/scrape")
        scrape = json.loads(body)
        assert scrape["cluster_id"] == "e2e" and scrape["cluster_id_source"].startswith("instance tag")
        await until(published, log)
        await until(lambda: sum(exporters.hits.values()) >= 2, log)
    await exporters.stop()
    text = log.read_text()
    assert "no config file" in text and "scrape configured from cni-metrics-helper" in text


async def test_run_role_nurse_with_the_kubenurse_daemonset_serves_its_endpoints(
        emulator_kubeconfig: Path, api: KubeApi, tmp_path: Path) -> None:
    server = yaml.safe_load(emulator_kubeconfig.read_text())["clusters"][0]["cluster"]["server"]
    host, _, api_port = server.removeprefix("https://").rpartition(":")
    port = free_port()
    env = {**NURSE_ENV,
           # Kubernetes' own variables in a pod, here the emulator's address; the cluster DNS name is localhost
           "KUBERNETES_SERVICE_HOST": host, "KUBERNETES_SERVICE_PORT": api_port,
           "KUBERNETES_SERVICE_DNS": "localhost", "KUBECONFIG": str(emulator_kubeconfig),
           "POD_NAME": "kubenurse-abcde", "POD_NAMESPACE": "kube-nurse", "NODE_NAME": "node-0",
           # the Ingress and Service of the example do not exist on this machine: point them at the nurse itself
           "KUBENURSE_INGRESS_URL": f"http://127.0.0.1:{port}", "KUBENURSE_SERVICE_URL": f"http://127.0.0.1:{port}",
           "KUBEVIGIL_LISTEN": f"127.0.0.1:{port}", "KUBEVIGIL_STATE_DIR": str(tmp_path / "state"),
           "KUBENURSE_CHECK_INTERVAL": "1s"}
    log = tmp_path / "nurse.log"

    def metrics() -> str:
        status, body = http_get(f"http://127.0.0.1:{port}/metrics")
        return body.decode() if status == 200 else ""

    async with running("nurse", env, log) as proc:
        await until(lambda: proc.returncode is None and http_get(f"http://127.0.0.1:{port}/alive")[0] == 200, log)
        text = await until(lambda: (m := metrics()) and 'type="api_server_direct"' in m and 'type="me_ingress"' in m
                           and m, log)
        assert "kubenurse_httpclient_requests_total" in str(text)
        _, body = http_get(f"http://127.0.0.1:{port}/api/process")
        assert json.loads(body)["roles"]["nurse"]["state"] == "running"
