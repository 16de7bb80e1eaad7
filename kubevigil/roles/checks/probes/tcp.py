"""The `tcp` probe: connect to host:port; optionally send text and expect an answer matching a pattern."""

from __future__ import annotations

import asyncio
import re
import time
from functools import cached_property

from pydantic import Field

from kubevigil.roles.checks.probes.patterns import Pattern, compile_pattern, shown
from kubevigil.roles.checks.probes.probe import Attempt, CheckFailed, Outcome, ProbeEnv, ProbeSpec, close_stream

MAX_ANSWER = 64 * 1024  # bytes of the peer's answer searched for `expect`


class TcpProbe(ProbeSpec):
    """Pass when a connection opens (and, with `expect`, when the peer's answer matches)."""

    host: str = Field(min_length=1, description="Host name or IP address")
    port: int = Field(ge=1, le=65535)
    send: str | None = Field(None, description="Text sent (UTF-8) once connected, e.g. 'PING\\r\\n'")
    expect: Pattern | None = Field(None, description="Regular expression searched in what the peer sends")

    @cached_property
    def _pattern(self) -> re.Pattern[str] | None:
        return compile_pattern(self.expect) if self.expect is not None else None

    def target(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"tcp {host}:{self.port}"

    async def check(self, env: ProbeEnv, attempt: Attempt) -> Outcome:
        attempt.doing = "connecting"
        started = time.perf_counter()
        reader, writer = await asyncio.open_connection(self.host, self.port)
        try:
            if self.send is not None:
                attempt.doing = "sending"
                writer.write(self.send.encode())
                await writer.drain()
            if self._pattern is not None:
                attempt.doing = f"waiting for {shown(self._pattern)}"
                await _read_until(reader, self._pattern)
            latency = time.perf_counter() - started
        finally:
            await close_stream(writer)
        what = "answered" if self._pattern is not None else "connected"
        return Outcome(True, f"{what} in {latency:.3f}s", {"latency_seconds": latency})


async def _read_until(reader: asyncio.StreamReader, pattern: re.Pattern[str]) -> None:
    # Latin-1 maps every byte to one character, so a pattern can match any bytes the peer sends.
    text = ""
    while len(text) < MAX_ANSWER:
        chunk = await reader.read(MAX_ANSWER - len(text))
        if not chunk:
            raise CheckFailed(f"mismatch: the connection closed after {len(text)} bytes without {shown(pattern)}")
        text += chunk.decode("latin-1")
        if pattern.search(text):
            return
    raise CheckFailed(f"mismatch: no {shown(pattern)} in the first {MAX_ANSWER} bytes")
