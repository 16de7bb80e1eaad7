"""The one backoff policy: exponential, capped, with full jitter so recovering peers are not stampeded."""

from __future__ import annotations

import random


def backoff_delay(attempt: int, base: float, cap: float, rng: random.Random | None = None) -> float:
    """Seconds to wait before the retry that follows failure number `attempt` (0 for the first failure)."""
    # The exponent is clamped so a peer down for days cannot overflow the float.
    ceiling = min(cap, base * 2 ** min(max(0, attempt), 60))
    return (rng or random).uniform(0.0, ceiling)
