"""What every built-in probe shares: its result, what it runs with, and the bounded run around its check."""

from __future__ import annotations

import asyncio
import time
from abc import abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import aiohttp

from kubevigil.core.clock import Clock
from kubevigil.core.model import Model
from kubevigil.kube.errors import ApiError
from kubevigil.roles.checks.probes.failures import describe

if TYPE_CHECKING:
    from kubevigil.kube.client import KubeApi

MESSAGE_LIMIT = 300  # status and history keep one short line per run
TARGET_LIMIT = 120  # a long URL or query must leave room for the reason
CLOSE_GRACE = 1.0  # seconds a peer gets to acknowledge a close before the connection is cut


@dataclass(frozen=True, slots=True)
class ProbeResult:
    ok: bool
    message: str  # one line for status/history; never a secret
    duration: float  # seconds
    values: Mapping[str, float] = field(default_factory=dict)  # e.g. latency_seconds, days_to_expiry, value


@dataclass(frozen=True, slots=True)
class ProbeEnv:
    api: KubeApi  # for the `kubernetes` probe and Secret references
    clock: Clock
    http: aiohttp.ClientSession  # shared, created by the role


@dataclass(frozen=True, slots=True)
class Outcome:
    """What a check found, before `run` names the target and adds the duration."""

    ok: bool
    reason: str
    values: Mapping[str, float] = field(default_factory=dict)


class CheckFailed(Exception):
    """A failure found deep inside a check (a missing Secret, a bad answer); `run` reports it as ok=False."""

    def __init__(self, reason: str, values: Mapping[str, float] | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.values: Mapping[str, float] = values or {}


class Attempt:
    """One run of a check: its whole time budget, and what it is doing now so a timeout says where it stopped."""

    __slots__ = ("doing", "timeout")

    def __init__(self, timeout: float) -> None:
        self.timeout = timeout
        self.doing = "starting"


class ProbeSpec(Model):
    """A probe's params; `run` checks once within `timeout` and never raises for a failed check."""

    async def run(self, env: ProbeEnv, timeout: float) -> ProbeResult:
        """Run the check once; the timeout covers everything (connect, handshake, request, read, close)."""
        attempt = Attempt(timeout)
        started = time.perf_counter()
        try:
            async with asyncio.timeout(timeout):
                outcome = await self.check(env, attempt)
        except TimeoutError:
            outcome = Outcome(False, f"timeout after {timeout:g}s {attempt.doing}")
        except CheckFailed as failed:
            outcome = Outcome(False, failed.reason, failed.values)
        except (OSError, aiohttp.ClientError, ApiError) as exc:
            outcome = Outcome(False, describe(exc))
        duration = time.perf_counter() - started
        message = f"{one_line(self.target(), TARGET_LIMIT)}: {outcome.reason}"
        return ProbeResult(outcome.ok, one_line(message), duration, dict(outcome.values))

    @abstractmethod
    def target(self) -> str:
        """What is probed, for messages: never a secret (no header values, URL credentials or query)."""

    @abstractmethod
    async def check(self, env: ProbeEnv, attempt: Attempt) -> Outcome:
        """Probe once; network and API failures may propagate, `run` classifies them."""


async def close_stream(writer: asyncio.StreamWriter) -> None:
    """Close a connection, waiting a moment for a polite close (TLS close_notify), then cutting it."""
    writer.close()
    try:
        async with asyncio.timeout(CLOSE_GRACE):
            await writer.wait_closed()
    except TimeoutError:
        writer.transport.abort()
    except OSError:
        pass  # the peer reset or had gone: the connection is closed either way


def one_line(text: str, limit: int = MESSAGE_LIMIT) -> str:
    """Whitespace collapsed, cut to `limit` characters."""
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
