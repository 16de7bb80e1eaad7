"""kubenurse's ring: the same peers as kubenurse picks, exactly K incoming checks per node, and the zone mode."""

from __future__ import annotations

import heapq
from collections import Counter

from kubevigil.roles.nurse.ring import Neighbour, nearest_clockwise, node_hash, zone_aware

# `printf %s node-a | sha256sum | cut -c1-16`, by hand: the ring order is c, e, a, b, d.
HASHES = {
    "node-a": 0x66570FF05A207404,
    "node-b": 0x93EF37C615713822,
    "node-c": 0x092CD5E29DB96478,
    "node-d": 0xDB81832DA1AB4B8D,
    "node-e": 0x4F91D5357ECE5D93,
}


def nurses(names: list[str], zones: dict[str, str] | None = None) -> list[Neighbour]:
    zones = zones or {}
    return [Neighbour(f"nurse-{n}", f"127.9.0.{i + 1}", "", n, zones.get(n, "")) for i, n in enumerate(names)]


def picks(own: str, candidates: list[Neighbour], k: int) -> list[str]:
    return [n.node_name for n in nearest_clockwise(own, [c for c in candidates if c.node_name != own], k)]


def kubenurse_filter(own: str, candidates: list[Neighbour], limit: int) -> set[str]:
    """kubenurse's filterNeighbours, line by line: a max-heap of (hash - own) mod 2^64, popped above the limit."""
    own_hash = node_hash(own)
    by_adjusted: dict[int, str] = {}
    heap: list[int] = []  # negated: heapq is a min-heap
    for n in candidates:
        adjusted = (n.node_hash - own_hash) % (1 << 64)
        by_adjusted[adjusted] = n.node_name
        heapq.heappush(heap, -adjusted)
        if len(heap) > limit:
            del by_adjusted[-heapq.heappop(heap)]
    return set(by_adjusted.values())


def test_node_hash_is_sha256_first_8_bytes_big_endian() -> None:
    assert {name: node_hash(name) for name in HASHES} == HASHES


def test_hand_computed_choices() -> None:
    everyone = nurses(list(HASHES))
    assert picks("node-a", everyone, 2) == ["node-b", "node-d"]
    assert picks("node-d", everyone, 2) == ["node-c", "node-e"]  # wraps past 2^64
    assert picks("node-b", everyone, 2) == ["node-d", "node-c"]
    assert picks("node-e", everyone, 1) == ["node-a"]
    assert picks("node-c", everyone, 3) == ["node-e", "node-a", "node-b"]


def test_at_or_below_the_limit_everyone_is_checked() -> None:
    everyone = nurses(list(HASHES))
    assert sorted(picks("node-a", everyone, 4)) == ["node-b", "node-c", "node-d", "node-e"]
    assert sorted(picks("node-a", everyone, 0)) == ["node-b", "node-c", "node-d", "node-e"]  # 0: no limit


def test_exactly_k_incoming_on_1000_nodes_and_the_same_choice_as_kubenurse() -> None:
    names = [f"a1-k8s-abcd{i:03d}.domain.tld" for i in range(1000)]  # kubenurse's own test's names
    everyone = nurses(names)
    incoming: Counter[str] = Counter()
    for own in names:
        others = [n for n in everyone if n.node_name != own]
        chosen = picks(own, everyone, 10)
        assert len(chosen) == 10
        assert set(chosen) == kubenurse_filter(own, others, 10)
        incoming.update(chosen)
    assert set(incoming.values()) == {10} and len(incoming) == 1000


def test_zone_aware_keeps_one_same_zone_and_one_cross_zone_peer() -> None:
    zones = {"node-a": "z1", "node-b": "z2", "node-d": "z2", "node-c": "z1", "node-e": "z3"}
    everyone = [n for n in nurses(list(HASHES), zones) if n.node_name != "node-a"]
    plain = [n.node_name for n in nearest_clockwise("node-a", everyone, 2)]
    assert plain == ["node-b", "node-d"]  # both in z2: no same-zone peer
    aware = [n.node_name for n in zone_aware("node-a", "z1", everyone, 2)]
    assert aware == ["node-b", "node-c"]  # the farthest pick made room for the nearest z1 peer
    all_same = dict.fromkeys(HASHES, "z1")
    same = [n for n in nurses(list(HASHES), all_same) if n.node_name != "node-a"]
    assert [n.node_name for n in zone_aware("node-a", "z1", same, 2)] == ["node-b", "node-d"]  # nothing to add


def test_zone_aware_changes_nothing_when_the_ring_already_mixes_zones() -> None:
    zones = {"node-a": "z1", "node-b": "z1", "node-d": "z2", "node-c": "z2", "node-e": "z2"}
    everyone = [n for n in nurses(list(HASHES), zones) if n.node_name != "node-a"]
    assert zone_aware("node-a", "z1", everyone, 2) == nearest_clockwise("node-a", everyone, 2)
