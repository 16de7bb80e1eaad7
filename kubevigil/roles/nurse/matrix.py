"""Who reaches whom: each nurse's latest results (/api/matrix) and their merge across nurses (goldpinger's
/check_all), which the web page draws as a heatmap."""

from __future__ import annotations

import asyncio
import ssl
import time
from collections.abc import Callable, Sequence
from typing import Any

import aiohttp

from kubevigil.roles.nurse.ring import Neighbour
from kubevigil.roles.nurse.rounds import Round

FETCH_TIMEOUT = 2.0
MAX_CONCURRENT = 32
CACHE_SECONDS = 1.0  # a page polling every nurse at once must not multiply into N^2 requests


def own_matrix(pod: str, node: str, zone: str, ip: str, latest: Round | None) -> dict[str, Any]:
    """This nurse's latest round, per check: ok, error class, status, seconds, and the node a path goes to."""
    view: dict[str, Any] = {"pod": pod, "node": node, "zone": zone, "ip": ip, "round": None, "checks": {}}
    if latest is None:
        return view
    targets = {n.check_type: n for n in latest.checked}
    view.update(round=latest.number, started_at=latest.started_at, finished_at=latest.finished_at,
                neighbourhood_state=latest.neighbourhood_state)
    for kind, outcome in latest.outcomes.items():
        if outcome.detail == "skipped":
            continue
        target = targets.get(kind)
        view["checks"][kind] = {
            "ok": outcome.ok, "event": outcome.event, "status": outcome.status, "seconds": outcome.seconds,
            "detail": outcome.detail, "target_node": target.node_name if target else None,
            "target_pod": target.pod_name if target else None,
        }
    return view


def merge(views: dict[str, dict[str, Any]], failures: dict[str, str]) -> dict[str, Any]:
    """One matrix from the views of many nurses (keyed by node, or pod outside a node)."""
    matrix: dict[str, dict[str, Any]] = {}
    checks: dict[str, dict[str, Any]] = {}
    nodes = set(views) | set(failures)
    for source, view in views.items():
        for kind, cell in view.get("checks", {}).items():
            if cell.get("target_node"):
                nodes.add(cell["target_node"])
                matrix.setdefault(source, {})[cell["target_node"]] = {
                    k: cell[k] for k in ("ok", "event", "status", "seconds")}
            else:
                checks.setdefault(source, {})[kind] = {k: cell[k] for k in ("ok", "event", "status", "seconds")}
    sources = {key: {"reachable": True, "pod": v.get("pod"), "zone": v.get("zone"), "round": v.get("round"),
                     "finished_at": v.get("finished_at"), "neighbourhood_state": v.get("neighbourhood_state")}
               for key, v in views.items()}
    sources.update({key: {"reachable": False, "error": why} for key, why in failures.items()})
    return {"generated_at": time.time(), "nodes": sorted(nodes), "sources": sources, "matrix": matrix,
            "checks": checks}


class ClusterMatrix:
    """Asks every nurse for its /api/matrix and merges the answers; cached for a second."""

    def __init__(self, tls: ssl.SSLContext, timeout: float = FETCH_TIMEOUT) -> None:
        self._tls = tls
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._cached: tuple[float, dict[str, Any]] | None = None
        self._lock = asyncio.Lock()
        self._session: aiohttp.ClientSession | None = None

    async def merged(self, nurses: Sequence[Neighbour], self_key: str, own: dict[str, Any],
                     url_of: Callable[[Neighbour], str]) -> dict[str, Any]:
        async with self._lock:
            now = time.monotonic()
            if self._cached is not None and now - self._cached[0] < CACHE_SECONDS:
                return self._cached[1]
            views, failures = await self._fetch_all([n for n in nurses if _key(n) != self_key], url_of)
            views[self_key] = own
            result = merge(views, failures)
            self._cached = (now, result)
            return result

    async def _fetch_all(self, nurses: Sequence[Neighbour], url_of: Callable[[Neighbour], str]
                         ) -> tuple[dict[str, dict[str, Any]], dict[str, str]]:
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=self._timeout)
        limit = asyncio.Semaphore(MAX_CONCURRENT)
        views: dict[str, dict[str, Any]] = {}
        failures: dict[str, str] = {}

        async def one(nurse: Neighbour) -> None:
            async with limit:
                try:
                    async with self._session.get(url_of(nurse), ssl=self._tls) as resp:  # type: ignore[union-attr]
                        resp.raise_for_status()
                        views[_key(nurse)] = await resp.json()
                except asyncio.CancelledError:
                    raise
                except Exception as exc:
                    failures[_key(nurse)] = f"{type(exc).__name__}"

        await asyncio.gather(*(one(n) for n in nurses))
        return views, failures

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None


def _key(nurse: Neighbour) -> str:
    return nurse.node_name or nurse.pod_name
