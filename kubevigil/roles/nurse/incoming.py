"""Which neighbours checked this nurse lately (the KUBENURSE-NEIGHBOUR-ORIGIN header on /alwayshappy)."""

from __future__ import annotations

from kubevigil.core.clock import Clock

TTL_SECONDS = 60.0  # kubenurse's neighbour TTL cache
MAX_ORIGINS = 10_000  # any client can send the header: memory stays bounded


class IncomingChecks:
    """Origins seen within the TTL; `count()` is kubenurse_neighbourhood_incoming_checks."""

    def __init__(self, clock: Clock, ttl: float = TTL_SECONDS) -> None:
        self._clock = clock
        self._ttl = ttl
        self._seen: dict[str, float] = {}

    def seen(self, origin: str) -> None:
        self._seen.pop(origin, None)  # re-inserted last: the dict stays ordered by last sighting
        self._seen[origin] = self._clock.monotonic()
        if len(self._seen) > MAX_ORIGINS:
            del self._seen[next(iter(self._seen))]

    def count(self) -> int:
        horizon = self._clock.monotonic() - self._ttl
        while self._seen:
            oldest = next(iter(self._seen))
            if self._seen[oldest] >= horizon:
                break
            del self._seen[oldest]
        return len(self._seen)

    def origins(self) -> list[str]:
        self.count()
        return sorted(self._seen)
