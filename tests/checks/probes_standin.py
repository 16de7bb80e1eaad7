"""A minimal stand-in for kubevigil.roles.checks.probes (the probes branch's module), with the lead's interface.

Only an `http` probe: GET the URL, ok when the status is the expected one. Used by tests and the benchmark until
the real module lands; `probes_module()` prefers the real one when it is installed.
"""

from __future__ import annotations

import importlib
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

import aiohttp

from kubevigil.core.clock import Clock
from kubevigil.core.model import Model

NAME = "kubevigil.roles.checks.probes"


@dataclass(frozen=True, slots=True)
class ProbeResult:
    ok: bool
    message: str
    duration: float
    values: Mapping[str, float] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ProbeEnv:
    api: Any
    clock: Clock
    http: aiohttp.ClientSession


class ProbeSpec(Model):
    async def run(self, env: ProbeEnv, timeout: float) -> ProbeResult:
        raise NotImplementedError


class HttpProbe(ProbeSpec):
    url: str
    status: int = 200

    async def run(self, env: ProbeEnv, timeout: float) -> ProbeResult:
        started = time.perf_counter()
        try:
            async with env.http.get(self.url, timeout=aiohttp.ClientTimeout(total=timeout)) as resp:
                await resp.read()
                took = time.perf_counter() - started
                ok = resp.status == self.status
                return ProbeResult(ok, f"HTTP {resp.status}" + ("" if ok else f", want {self.status}"), took,
                                   {"latency_seconds": took})
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            return ProbeResult(False, f"{type(exc).__name__}: {exc}", time.perf_counter() - started)


PROBES: dict[str, type[ProbeSpec]] = {"http": HttpProbe}


def probes_module() -> ModuleType:
    """The real probes module when installed, else this stand-in registered under its name."""
    try:
        return importlib.import_module(NAME)
    except ModuleNotFoundError:
        sys.modules[NAME] = sys.modules[__name__]
        return sys.modules[__name__]
