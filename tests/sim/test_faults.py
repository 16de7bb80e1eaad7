"""Faults a real API server has: reads from a resourceVersion it has not reached, restarts with the same or an
older store (an etcd restore), a kept or new serving CA, and admin token rotation."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import ssl
import sys
from pathlib import Path
from typing import Any

import aiohttp
import yaml

from kubevigil.kube.resources import by_kind
from kubevigil.sim.api import INITIAL_EVENTS_END
from kubevigil.sim.cluster import Cluster
from tests.conditions import eventually

CM = "/api/v1/namespaces/default/configmaps"
KUBEVIGIL = str(Path(sys.executable).parent / "kubevigil")


async def test_list_and_watch_from_a_too_large_resource_version(http: aiohttp.ClientSession,
                                                               cluster: Cluster) -> None:
    cluster.settings.fresh_wait = 0.3
    ahead = cluster.store.resource_version + 1000
    async with http.get(CM, params={"resourceVersion": str(ahead)}) as resp:
        assert resp.status == 504
        assert await resp.json() == {
            "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
            "message": f"Timeout: Too large resource version: {ahead}, current: {cluster.store.resource_version}",
            "reason": "Timeout", "code": 504,
            "details": {"causes": [{"reason": "ResourceVersionTooLarge", "message": "Too large resource version"}],
                        "retryAfterSeconds": 1}}
    async with http.get(CM, params={"watch": "1", "resourceVersion": str(ahead)}) as resp:
        assert resp.status == 200
        lines = [json.loads(line) for line in (await resp.read()).splitlines()]
    assert [ln["type"] for ln in lines] == ["ERROR"]
    assert lines[0]["object"]["code"] == 504 and lines[0]["object"]["reason"] == "Timeout"
    # A version the store reaches while the request waits is served normally.
    cluster.settings.fresh_wait = 10
    soon = cluster.store.resource_version + 1
    asyncio.get_running_loop().call_later(0.2, lambda: cluster.store.create(
        by_kind("ConfigMap"), {"metadata": {"name": "late", "namespace": "default"}}))
    async with http.get(CM, params={"resourceVersion": str(soon)}) as resp:
        assert resp.status == 200 and [i["metadata"]["name"] for i in (await resp.json())["items"]] == ["late"]


async def test_watch_list_sends_initial_state_then_the_end_bookmark(http: aiohttp.ClientSession,
                                                                   cluster: Cluster) -> None:
    for name in ("a", "b"):
        cluster.store.create(by_kind("ConfigMap"), {"metadata": {"name": name, "namespace": "default"}})
    params = {"watch": "1", "sendInitialEvents": "true", "resourceVersionMatch": "NotOlderThan",
              "allowWatchBookmarks": "true", "timeoutSeconds": "5"}
    async with http.get(CM, params=params) as resp:
        lines = []
        while len(lines) < 3:
            lines.append(json.loads(await asyncio.wait_for(resp.content.readline(), timeout=10)))
    assert [(ln["type"], ln["object"]["metadata"].get("name")) for ln in lines] == [
        ("ADDED", "a"), ("ADDED", "b"), ("BOOKMARK", None)]
    assert lines[2]["object"]["metadata"]["annotations"] == {INITIAL_EVENTS_END: "true"}
    assert lines[2]["object"]["metadata"]["resourceVersion"] == str(cluster.store.resource_version)


async def _serve(tmp_path: Path, *extra: str) -> tuple[asyncio.subprocess.Process, dict[str, Any]]:
    kubeconfig = tmp_path / "kc.yaml"
    kubeconfig.unlink(missing_ok=True)
    proc = await asyncio.create_subprocess_exec(
        KUBEVIGIL, "sim", "serve", "--kubeconfig-out", str(kubeconfig), "--no-workloads", *extra,
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE)
    await eventually(lambda: kubeconfig.exists() or proc.returncode is not None, timeout=60)
    assert proc.returncode is None, "sim serve exited"
    return proc, yaml.safe_load(kubeconfig.read_text())


def _session(config: dict[str, Any], token: str | None = None) -> aiohttp.ClientSession:
    import base64

    cluster = config["clusters"][0]["cluster"]
    ctx = ssl.create_default_context(cadata=base64.b64decode(cluster["certificate-authority-data"]).decode())
    token = token or config["users"][0]["user"]["token"]
    return aiohttp.ClientSession(base_url=cluster["server"], headers={"Authorization": f"Bearer {token}"},
                                 connector=aiohttp.TCPConnector(ssl=ctx), timeout=aiohttp.ClientTimeout(total=30))


async def _kill9(proc: asyncio.subprocess.Process) -> None:
    os.kill(proc.pid, signal.SIGKILL)
    await proc.wait()


async def test_kill9_restart_resumes_and_an_older_copy_moves_versions_back(tmp_path: Path) -> None:
    state, certs = tmp_path / "state.json", tmp_path / "certs"
    proc, config = await _serve(tmp_path, "--state-file", str(state), "--cert-dir", str(certs))
    try:
        async with _session(config) as http:
            async with http.post(CM, json={"metadata": {"name": "one"}, "data": {"k": "1"}}) as resp:
                one = await resp.json()
            backup = tmp_path / "backup.json"
            await eventually(lambda: state.exists() and b'"one"' in state.read_bytes())
            backup.write_bytes(state.read_bytes())
            async with http.post(CM, json={"metadata": {"name": "two"}}) as resp:
                two = await resp.json()
            await eventually(lambda: b'"two"' in state.read_bytes())
    finally:
        await _kill9(proc)
    proc, config2 = await _serve(tmp_path, "--state-file", str(state), "--cert-dir", str(certs))
    try:
        assert config2["clusters"][0]["cluster"]["certificate-authority-data"] == \
            config["clusters"][0]["cluster"]["certificate-authority-data"]
        async with _session(config2) as http:
            async with http.get(f"{CM}/one") as resp:
                assert (await resp.json())["metadata"] == one["metadata"]
            async with http.get(CM) as resp:
                listed = await resp.json()
            assert listed["metadata"]["resourceVersion"] == two["metadata"]["resourceVersion"]
            # Watching on from the saved version continues; from before the restart the history is gone (410).
            params = {"watch": "1", "resourceVersion": two["metadata"]["resourceVersion"], "timeoutSeconds": "1"}
            async with http.get(CM, params=params) as resp:
                assert resp.status == 200
            async with http.get(CM, params={**params, "resourceVersion": one["metadata"]["resourceVersion"]}) as resp:
                assert resp.status == 410
    finally:
        await _kill9(proc)
    # The etcd restore: an older copy of the state, new CA; a client still at the newer version gets "too large".
    state.write_bytes(backup.read_bytes())
    proc, config3 = await _serve(tmp_path, "--state-file", str(state))
    try:
        assert config3["clusters"][0]["cluster"]["certificate-authority-data"] != \
            config["clusters"][0]["cluster"]["certificate-authority-data"]
        async with _session(config3) as http:
            async with http.get(f"{CM}/two") as resp:
                assert resp.status == 404
            params = {"watch": "1", "resourceVersion": two["metadata"]["resourceVersion"]}
            async with http.get(CM, params=params) as resp:
                lines = [json.loads(ln) for ln in (await resp.read()).splitlines()]
            assert lines[0]["type"] == "ERROR" and "Too large resource version" in lines[0]["object"]["message"]
    finally:
        await _kill9(proc)


async def test_token_file_rotation_gives_the_old_token_401(tmp_path: Path) -> None:
    token_file = tmp_path / "token"
    proc, config = await _serve(tmp_path, "--token-file", str(token_file))
    try:
        old = token_file.read_text().strip()
        assert old == config["users"][0]["user"]["token"] and oct(token_file.stat().st_mode)[-3:] == "600"
        token_file.write_text("rotated-token-0123456789\n")
        async with _session(config, "rotated-token-0123456789") as http:
            async def rotated() -> bool:
                async with http.get("/api/v1/namespaces") as resp:
                    return resp.status == 200
            for _ in range(200):
                if await rotated():
                    break
                await asyncio.sleep(0.05)
            assert await rotated()
        async with _session(config, old) as http, http.get("/api/v1/namespaces") as resp:
            assert resp.status == 401 and (await resp.json())["reason"] == "Unauthorized"
    finally:
        await _kill9(proc)


async def test_cluster_api_rotates_and_saves(tmp_path: Path) -> None:
    async with Cluster(workloads=False, state_file=tmp_path / "s.json") as c:
        old = c.token
        new = c.rotate_token()
        assert new != old and c.authenticator.authenticate(f"Bearer {old}") is None
        c.store.create(by_kind("ConfigMap"), {"metadata": {"name": "kept", "namespace": "default"}})
        rv = c.store.resource_version
    async with Cluster(workloads=False, state_file=tmp_path / "s.json") as c2:
        assert c2.store.resource_version == rv
        assert c2.store.get(by_kind("ConfigMap"), "default", "kept")["metadata"]["resourceVersion"] == str(rv)
