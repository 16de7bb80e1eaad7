"""What every pod-owning controller of the workload simulator holds."""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any

from kubevigil.core.clock import Clock
from kubevigil.sim.eventrecorder import EventRecorder


class PodOwningController:
    """The store, the clock, the event recorder, seeded randomness, and how to stop a pod (kubelet's Killing)."""

    def __init__(self, store: Any, clock: Clock, recorder: EventRecorder, rng: random.Random,
                 stop_pod: Callable[[dict], None]) -> None:
        self._store = store
        self._clock = clock
        self._recorder = recorder
        self._rng = rng
        self._stop_pod = stop_pod
