"""Fidelity: lightkube's AsyncClient (list, watch, create, patch) against the emulator."""

from __future__ import annotations

import asyncio
from pathlib import Path

from lightkube import AsyncClient, KubeConfig
from lightkube.models.core_v1 import Container, PodSpec
from lightkube.models.meta_v1 import ObjectMeta
from lightkube.resources.core_v1 import Pod
from lightkube.types import PatchType

from kubevigil.sim.cluster import Cluster


def _pod(name: str, app: str) -> Pod:
    return Pod(metadata=ObjectMeta(name=name, namespace="default", labels={"app": app}),
               spec=PodSpec(containers=[Container(name="c", image="busybox")]))


async def test_lightkube_create_list_patch_watch(cluster: Cluster, tmp_path: Path) -> None:
    config = KubeConfig.from_file(cluster.write_kubeconfig(tmp_path / "kubeconfig"))
    client = AsyncClient(config=config, timeout=10)
    try:
        created = await client.create(_pod("a", "x"))
        assert created.metadata.uid and created.status.phase == "Pending"
        await client.create(_pod("b", "y"))
        names = [p.metadata.name async for p in client.list(Pod, namespace="default", labels={"app": "x"})]
        assert names == ["a"]
        paged = [p.metadata.name async for p in client.list(Pod, namespace="*", chunk_size=1)]
        assert paged == ["a", "b"]
        patched = await client.patch(Pod, "a", {"metadata": {"labels": {"tier": "web"}}}, namespace="default",
                                     patch_type=PatchType.MERGE)
        assert patched.metadata.labels == {"app": "x", "tier": "web"}

        seen: list[tuple[str, str]] = []

        async def watch() -> None:
            async for etype, pod in client.watch(Pod, namespace="default",
                                                 resource_version=patched.metadata.resourceVersion):
                seen.append((etype, pod.metadata.name))
                if etype == "DELETED":
                    return

        task = asyncio.create_task(watch())
        await client.patch(Pod, "b", {"metadata": {"labels": {"tier": "db"}}}, namespace="default",
                           patch_type=PatchType.STRATEGIC)
        await client.delete(Pod, "b", namespace="default")
        await asyncio.wait_for(task, timeout=10)
        assert seen == [("MODIFIED", "b"), ("DELETED", "b")]
    finally:
        await client.close()
