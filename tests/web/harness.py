"""A kubevigil Runtime with the page, in this process, against the emulator: config in, base URL out."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
import yaml

from kubevigil.catalog import load
from kubevigil.kube.resources import by_kind
from kubevigil.runtime import Runtime
from kubevigil.sim.cluster import Cluster

EVENT = by_kind("Event")


@contextlib.asynccontextmanager
async def running(kubeconfig: Path, tmp_path: Path, sections: dict[str, Any], *, sinks: dict[str, Any] | None = None,
                  web: dict[str, Any] | None = None) -> AsyncIterator[str]:
    """Start the roles `sections` configures (server on an ephemeral port); yields the base URL."""
    config: dict[str, Any] = {
        "cluster": {"name": "web-test", "kubeconfig": str(kubeconfig)},
        "server": {"listen": "127.0.0.1:0", **({"web": web} if web is not None else {})},
        "state_dir": str(tmp_path / "state"),
        "shutdown_grace": 1,
        "leader_election": {"enabled": False},  # one process: the leader roles run at once
        "sinks": {"out": {"file": {"path": str(tmp_path / "out.jsonl")}}, **(sinks or {})},
        **sections,
    }
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(config))
    settings = load(path).settings
    runtime = Runtime(settings, settings.roles_enabled())
    await runtime.start()
    try:
        yield f"http://127.0.0.1:{runtime.port}"
    finally:
        await runtime.stop()


def events_section(*receivers: str) -> dict[str, Any]:
    routes = [{"match": [{"receiver": r}]} for r in receivers or ("out",)]
    return {"events": {"route": {"routes": routes}}}


def warning(cluster: Cluster, reason: str, message: str, namespace: str = "default", kind: str = "Pod",
            name: str = "victim") -> dict[str, Any]:
    """Write a Warning Event into the emulator, as a pod's controller (or anyone with create events) could."""
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    obj = {
        "apiVersion": "v1", "kind": "Event",
        "metadata": {"name": f"{name}.{uuid.uuid4().hex[:12]}", "namespace": namespace},
        "involvedObject": {"kind": kind, "namespace": namespace, "name": name, "apiVersion": "v1"},
        "reason": reason, "message": message, "type": "Warning", "count": 1,
        "firstTimestamp": now, "lastTimestamp": now, "source": {"component": "web-test"},
    }
    return dict(cluster.store.create(EVENT, obj))


async def get(base: str, path: str, headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], str]:
    async with aiohttp.ClientSession() as http, http.get(base + path, headers=headers or {}) as resp:
        return resp.status, dict(resp.headers), await resp.text()
