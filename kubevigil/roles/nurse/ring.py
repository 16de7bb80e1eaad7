"""kubenurse's neighbour ring: which peers a nurse checks, so every node receives exactly K checks.

Each node name hashes onto a 64-bit ring (the first 8 bytes of its SHA-256, big-endian); a nurse checks the K
nodes nearest clockwise from its own node. kubenurse computes the same, so during a mixed rollout both pick the
same peers. The zone-aware mode then swaps the farthest picks for the nearest same-zone and cross-zone peers.
"""

from __future__ import annotations

import hashlib
import heapq
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

_RING = 1 << 64


def node_hash(node_name: str) -> int:
    """The node's place on the ring: SHA-256 of its name, first 8 bytes as a big-endian unsigned integer."""
    return int.from_bytes(hashlib.sha256(node_name.encode()).digest()[:8], "big")


@dataclass(frozen=True, slots=True)
class Neighbour:
    """Another nurse pod, as kubenurse lists it in /alive (plus its node's zone)."""

    pod_name: str
    pod_ip: str
    host_ip: str
    node_name: str
    zone: str = ""
    node_hash: int = field(default=-1, compare=False)

    def __post_init__(self) -> None:
        if self.node_hash < 0:
            object.__setattr__(self, "node_hash", node_hash(self.node_name))

    @property
    def check_type(self) -> str:
        """The `type` label of checks to this neighbour (kubenurse: `path_<node name>`)."""
        return "path_" + self.node_name

    def alive_view(self) -> dict[str, Any]:
        return {"PodName": self.pod_name, "PodIP": self.pod_ip, "HostIP": self.host_ip,
                "NodeName": self.node_name, "NodeHash": self.node_hash}


def nearest_clockwise(own_node: str, candidates: Sequence[Neighbour], limit: int) -> list[Neighbour]:
    """The `limit` candidates nearest clockwise of `own_node`, nearest first; all of them when limit < 1 or
    there are no more than `limit` (kubenurse filters only above its limit)."""
    if limit < 1 or len(candidates) <= limit:
        return sorted(candidates, key=_distance_key(own_node))
    return heapq.nsmallest(limit, candidates, key=_distance_key(own_node))


def zone_aware(own_node: str, own_zone: str, candidates: Sequence[Neighbour], limit: int) -> list[Neighbour]:
    """The ring's choice, changed only as needed to hold at least one same-zone and one cross-zone peer when
    such candidates exist: the nearest missing kind replaces the farthest pick of the other kind."""
    chosen = nearest_clockwise(own_node, candidates, limit)
    if not own_zone or len(chosen) == len(candidates) or limit < 2:
        return chosen
    for same in (True, False):
        if any((n.zone == own_zone) == same for n in chosen):
            continue
        picked = {n.node_name for n in chosen}
        rest = [n for n in candidates if (n.zone == own_zone) == same and n.node_name not in picked]
        if not rest:
            continue
        # every pick is of the other kind here (limit >= 2), so dropping the farthest keeps that kind present
        chosen = [*chosen[:-1], min(rest, key=_distance_key(own_node))]
        chosen.sort(key=_distance_key(own_node))
    return chosen


def _distance_key(own_node: str) -> Any:
    own = node_hash(own_node)
    return lambda n: (n.node_hash - own) % _RING
