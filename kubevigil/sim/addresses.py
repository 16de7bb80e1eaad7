"""The addresses the emulator hands out, all on loopback so tests and the demo can bind and reach them.

Pods get 127.1.0.0/16, node InternalIPs 127.2.0.0/16, Service clusterIPs 127.3.0.0/16; no two live objects share
one (a hostNetwork pod shares its node's address, as on a real node).
"""

from __future__ import annotations

import ipaddress
import random
from collections.abc import Iterable

POD_NETWORK = ipaddress.ip_network("127.1.0.0/16")
NODE_NETWORK = ipaddress.ip_network("127.2.0.0/16")
SERVICE_NETWORK = ipaddress.ip_network("127.3.0.0/16")


class AddressPool:
    """Hands out the next free address of a network, round robin, skipping the network and broadcast ones.

    With `rng`, the round starts at a random address: emulators running side by side (parallel test runs, two
    demos) then hand out different pod IPs, so their servers bound on those addresses do not collide."""

    def __init__(self, network: ipaddress.IPv4Network | ipaddress.IPv6Network, rng: random.Random | None = None
                 ) -> None:
        self.network = network
        self._first = int(network.network_address) + 1
        self._size = network.num_addresses - 2
        self._next = rng.randrange(self._size) if rng is not None else 0

    def __contains__(self, address: object) -> bool:
        try:
            return ipaddress.ip_address(str(address)) in self.network
        except ValueError:
            return False

    def allocate(self, in_use: Iterable[str]) -> str:
        """The next address not in `in_use`; RuntimeError when the network is full."""
        used = set(in_use)
        for _ in range(self._size):
            address = str(ipaddress.ip_address(self._first + self._next))
            self._next = (self._next + 1) % self._size
            if address not in used:
                return address
        raise RuntimeError(f"no free address left in {self.network}")
