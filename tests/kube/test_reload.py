"""The client after start: a rotated token, a rewritten kubeconfig, a new CA, a 401 — re-read, retried once."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest
import yaml
from prometheus_client import CollectorRegistry
from structlog.testing import capture_logs

from kubevigil.kube.client import connect
from kubevigil.kube.errors import ApiError
from kubevigil.kube.informer import Change, Informer
from kubevigil.kube.resources import by_kind
from kubevigil.sim.certs import loopback_cert
from kubevigil.sim.cluster import Cluster
from tests.conditions import eventually
from tests.kube.conftest import proxied_kubeconfig, write_kubeconfig
from tests.kube.fakeapi import FakeApi
from tests.kube.tcpproxy import TcpProxy

POD = by_kind("Pod")


def pod(name: str) -> dict:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": "default"},
            "spec": {"containers": [{"name": "c", "image": "nginx"}]}}


async def test_a_rotated_token_file_is_read_when_it_changes(fake: FakeApi, tmp_path: Path) -> None:
    token_file = tmp_path / "token"
    token_file.write_text(fake.token)
    api = await connect(str(write_kubeconfig(tmp_path / "kc", fake.url, {"tokenFile": str(token_file)})))
    seen: list[str] = []

    async def record(change: Change) -> None:
        seen.append(change.obj["metadata"]["name"])

    inf = Informer(api, POD, registry=CollectorRegistry(), contact_every=0.3)
    inf.add_handler(record)
    task = asyncio.create_task(inf.run())
    try:
        await asyncio.wait_for(inf.synced.wait(), 10)
        # As the kubelet rotates a projected token: the new one is valid at once, the old one for a while longer.
        fake.extra_tokens.add("rotated")
        token_file.write_text("rotated")
        await eventually(lambda: "Bearer rotated" in fake.seen_tokens)
        fake.token, fake.extra_tokens = "rotated", set()
        await fake.write(POD, pod("after-rotation"))
        await eventually(lambda: "after-rotation" in seen)
        assert api.reloads == 1 and not inf.failing
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await api.aclose()


async def test_a_401_rereads_the_config_once_and_retries(fake: FakeApi, tmp_path: Path) -> None:
    kc = write_kubeconfig(tmp_path / "kc", fake.url, {"token": fake.token})
    api = await connect(str(kc))
    try:
        # The new token is written so that the file's size and times do not change: only the 401 can reveal it.
        before = kc.stat()
        kc.write_text(kc.read_text().replace(fake.token, "terces"))
        os.utime(kc, ns=(before.st_atime_ns, before.st_mtime_ns))
        fake.token = "terces"
        with capture_logs() as logs:
            assert (await api.request("GET", "/api"))["kind"] == "APIVersions"
        assert fake.seen_tokens[-2:] == ["Bearer secret", "Bearer terces"]
        assert api.reloads == 1
        assert any(e["event"] == "Kubernetes config reloaded" and "401" in e["why"] for e in logs)
        fake.token = "revoked"
        with pytest.raises(ApiError) as err:
            await api.request("GET", "/api")
        assert err.value.status == 401 and api.reloads == 2  # one more reading, one retry, then the 401 stands
    finally:
        await api.aclose()


async def test_a_new_ca_after_the_server_restarts_is_picked_up(tmp_path: Path) -> None:
    """The emulator "restarts" behind one address (a proxy moves to another one) with another self-signed CA."""
    second_cert = loopback_cert.__wrapped__()
    async with Cluster(workloads=False, token="t", bookmark_interval=0.2) as first, \
            Cluster(workloads=False, token="t", bookmark_interval=0.2) as second:
        second.cert = second_cert
        await second.stop()
        await second.start()  # now serving with its own CA
        first.store.create(POD, pod("before-restart"))
        second.store.create(POD, pod("after-restart"))
        proxy = TcpProxy(int(first.url.rsplit(":", 1)[1]))
        await proxy.start()
        kubeconfig = proxied_kubeconfig(first, proxy, tmp_path / "kubeconfig")
        api = await connect(str(kubeconfig))
        inf = Informer(api, POD, registry=CollectorRegistry(), backoff_cap=0.2)
        task = asyncio.create_task(inf.run())
        try:
            await asyncio.wait_for(inf.synced.wait(), 10)
            with capture_logs() as logs:
                proxy.sever()
                await eventually(lambda: inf.failing)
                proxy.target_port = int(second.url.rsplit(":", 1)[1])
                proxy.restore()
                # The old CA does not trust it. Under load a handshake may first be cut while the proxy switches
                # (TLS: UNEXPECTED_EOF_WHILE_READING), so wait for the verification failure itself.
                await eventually(lambda: inf.last_error.startswith("TLS: certificate verify failed"), timeout=20)
                assert "\n" not in inf.last_error
                proxied_kubeconfig(second, proxy, kubeconfig)
                await eventually(lambda: inf.cache.get("default", "after-restart") is not None, timeout=30)
            assert inf.cache.get("default", "before-restart") is None and not inf.failing
            first_failure = next(e for e in logs if e["event"] == "informer cannot list/watch")
            assert first_failure["log_level"] == "warning" and first_failure["server"] == api.server
            reloaded = next(e for e in logs if e["event"] == "Kubernetes config reloaded")
            assert reloaded["log_level"] == "info" and str(kubeconfig) in reloaded["why"]
            assert any(e["event"] == "informer recovered" for e in logs)
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
            await api.aclose()
            await proxy.stop()


def test_kubeconfig_fixture_is_yaml(tmp_path: Path) -> None:
    doc = yaml.safe_load(write_kubeconfig(tmp_path / "kc", "http://127.0.0.1:1", {"tokenFile": "/t"}).read_text())
    assert doc["users"][0]["user"] == {"tokenFile": "/t"}
