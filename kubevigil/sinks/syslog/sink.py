"""The `syslog` sink: RFC 5424 messages with the event as JSON; severity from the event's type."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import ClassVar

from kubevigil.core.hostport import split_host_port
from kubevigil.core.signals import Record
from kubevigil.core.templating import compile_value
from kubevigil.sinks.payloads import Payload, render
from kubevigil.sinks.sink import Ack, BatchLimits, ItemFailure, RetryableError, SignalKind, Sink, SinkContext, no_ack
from kubevigil.sinks.syslog.params import FACILITIES, Params

_WARNING, _INFO = 4, 6
_MAX_UDP = 65_000


def frame(payload: Payload, *, facility: int, hostname: str, tag: str) -> bytes:
    """`<PRI>1 TIMESTAMP HOSTNAME APP-NAME PROCID MSGID SD MSG` for one record."""
    severity = _WARNING if payload.record.body.get("type") == "Warning" else _INFO
    stamp = datetime.fromtimestamp(payload.record.timestamp, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    reason = str(payload.record.body.get("reason") or "-").replace(" ", "_")[:32] or "-"
    header = f"<{facility * 8 + severity}>1 {stamp} {hostname} {tag} - {reason} - "
    return header.encode() + payload.data


class SyslogSink(Sink[Record]):
    kinds: ClassVar[frozenset[SignalKind]] = frozenset({"record"})
    limits = BatchLimits(max_items=500, max_bytes=2_000_000, max_age=0.5)

    def __init__(self, params: Params, ctx: SinkContext) -> None:
        self.params = params
        self._host, self._port = split_host_port(params.address)
        self._layout = compile_value(params.layout) if params.layout is not None else None
        self._facility = FACILITIES[params.facility]
        self._hostname = (params.hostname or ctx.cluster_name or "-").replace(" ", "_")
        self._writer: asyncio.StreamWriter | None = None
        self._udp: asyncio.DatagramTransport | None = None

    async def send(self, batch: Sequence[Record], ack: Ack = no_ack) -> list[ItemFailure]:
        limit = _MAX_UDP if self.params.network == "udp" else 1_000_000
        payloads, failures = render(batch, self._layout, limit, "syslog")
        messages = [frame(p, facility=self._facility, hostname=self._hostname, tag=self.params.tag) for p in payloads]
        try:
            async with asyncio.timeout(self.params.timeout):
                await self._write(messages)
        except (OSError, TimeoutError) as exc:
            await self.close()
            raise RetryableError(f"syslog {self.params.address}: {type(exc).__name__}: {exc}") from exc
        return failures

    async def _write(self, messages: list[bytes]) -> None:
        if self.params.network == "udp":
            if self._udp is None:
                self._udp, _ = await asyncio.get_running_loop().create_datagram_endpoint(
                    asyncio.DatagramProtocol, remote_addr=(self._host, self._port))
            for m in messages:
                self._udp.sendto(m)
            return
        if self._writer is None:
            _, self._writer = await asyncio.open_connection(self._host, self._port)
        self._writer.write(b"".join(b"%d %s" % (len(m), m) for m in messages))  # RFC 6587 octet counting
        await self._writer.drain()

    async def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
            self._writer = None
        if self._udp is not None:
            self._udp.close()
            self._udp = None
