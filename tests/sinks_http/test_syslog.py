"""syslog sink against a local TCP and UDP listener: RFC 5424 framing and severity."""

from __future__ import annotations

import asyncio
import json
import re

from tests.sinks_http.conftest import event


async def test_tcp_octet_counted_rfc5424(build) -> None:
    received = bytearray()
    got = asyncio.Event()

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while chunk := await reader.read(65536):
            received.extend(chunk)
            if received.count(b"<") >= 2:
                got.set()
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    sink = build("syslog", address=f"127.0.0.1:{port}", tag="k8s.event")
    normal = event(1, type="Normal", reason="Pulled")
    assert await sink.send([event(0), normal]) == []
    await asyncio.wait_for(got.wait(), 5)
    await sink.close()
    server.close()
    messages = []
    data = bytes(received)
    while data:
        length, _, rest = data.partition(b" ")
        messages.append(rest[: int(length)])
        data = rest[int(length):]
    first, second = messages
    assert first.startswith(b"<132>1 2025-11-22T08:26:40.000Z prod-eks k8s.event - BackOff - {")  # local0.warning
    assert second.startswith(b"<134>1 ")  # local0.info
    assert json.loads(first.split(b" - ", 2)[2])["reason"] == "BackOff"


async def test_udp_one_datagram_per_record(build) -> None:
    loop = asyncio.get_running_loop()
    datagrams: asyncio.Queue[bytes] = asyncio.Queue()

    class Collect(asyncio.DatagramProtocol):
        def datagram_received(self, data: bytes, addr: object) -> None:
            datagrams.put_nowait(data)

    transport, _ = await loop.create_datagram_endpoint(Collect, local_addr=("127.0.0.1", 0))
    port = transport.get_extra_info("sockname")[1]
    sink = build("syslog", address=f"127.0.0.1:{port}", network="udp", facility="daemon")
    assert await sink.send([event(0), event(1)]) == []
    one = await asyncio.wait_for(datagrams.get(), 5)
    two = await asyncio.wait_for(datagrams.get(), 5)
    await sink.close()
    transport.close()
    assert one.startswith(b"<28>1 ") and two.startswith(b"<28>1 ")  # daemon.warning


async def test_refused_connection_is_retryable(build) -> None:
    import pytest

    from kubevigil.sinks.sink import RetryableError

    with pytest.raises(RetryableError, match=re.escape("127.0.0.1:9")):
        await build("syslog", address="127.0.0.1:9", timeout=2).send([event(0)])
