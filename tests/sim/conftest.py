"""Emulator test fixtures: a cluster without the workload simulator (deterministic), kubectl and an HTTP client."""

from __future__ import annotations

import asyncio
import os
import ssl
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import pytest
import pytest_asyncio

from kubevigil.sim.cluster import Cluster

FIXTURES = Path(__file__).parent / "fixtures"
KUBECTL = str(Path(sys.executable).parent / "kubectl")


@pytest_asyncio.fixture
async def cluster() -> AsyncIterator[Cluster]:
    async with Cluster(workloads=False, bookmark_interval=0.2, history=200) as c:
        yield c


@dataclass
class Kubectl:
    """Runs the venv's kubectl against one cluster, asynchronously so the in-process server keeps serving."""

    env: dict[str, str]

    async def run(self, *args: str, stdin: str | None = None, check: bool = True) -> tuple[int, str, str]:
        proc = await asyncio.create_subprocess_exec(
            KUBECTL, *args, env=self.env, stdin=asyncio.subprocess.PIPE if stdin else None,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
        try:
            out, err = await asyncio.wait_for(proc.communicate(stdin.encode() if stdin else None), timeout=30)
        except TimeoutError:
            proc.kill()
            await proc.wait()
            raise
        code = proc.returncode or 0
        if check and code != 0:
            raise AssertionError(f"kubectl {' '.join(args)} exited {code}: {err.decode()}")
        return code, out.decode(), err.decode()

    async def out(self, *args: str, stdin: str | None = None) -> str:
        return (await self.run(*args, stdin=stdin))[1]


@pytest.fixture
def kubectl(cluster: Cluster, tmp_path: Path) -> Kubectl:
    kubeconfig = cluster.write_kubeconfig(tmp_path / "kubeconfig")
    home = tmp_path / "home"
    home.mkdir()
    # A private HOME keeps kubectl's discovery cache and the user's ~/.kube out of the test.
    env = {"KUBECONFIG": str(kubeconfig), "HOME": str(home), "PATH": os.environ.get("PATH", "")}
    return Kubectl(env)


@pytest_asyncio.fixture
async def http(cluster: Cluster) -> AsyncIterator[aiohttp.ClientSession]:
    ctx = ssl.create_default_context(cadata=cluster.cert.cert_pem.decode())
    async with aiohttp.ClientSession(
        base_url=cluster.url, headers={"Authorization": f"Bearer {cluster.token}"},
        connector=aiohttp.TCPConnector(ssl=ctx), timeout=aiohttp.ClientTimeout(total=30),
    ) as session:
        yield session


@pytest_asyncio.fixture
async def live_cluster() -> AsyncIterator[Cluster]:
    """A cluster with the workload simulator on and two Ready nodes (pods run, rollouts finish)."""
    async with Cluster(workloads=True, bookmark_interval=0.2, fresh_wait=0.5) as c:
        c.add_node("node-1")
        c.add_node("node-2")
        yield c


@pytest.fixture
def live_kubectl(live_cluster: Cluster, tmp_path: Path) -> Kubectl:
    kubeconfig = live_cluster.write_kubeconfig(tmp_path / "kubeconfig")
    home = tmp_path / "home"
    home.mkdir()
    return Kubectl({"KUBECONFIG": str(kubeconfig), "HOME": str(home), "PATH": os.environ.get("PATH", "")})
