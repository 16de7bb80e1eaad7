"""The `tcp` probe against local servers: connect, send/expect, refused, silent, hung up, reset; no leaked socket."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from kubevigil.roles.checks.probes import PROBES, ProbeEnv, TcpProbe
from tests.checks_probes.servers import RawServer, banner, hang_up, pong, reset_after_request, silent
from tests.conditions import eventually
from tests.loopback import free_port


def probe(**params: object) -> TcpProbe:
    spec = PROBES["tcp"].model_validate(params)
    assert isinstance(spec, TcpProbe)
    return spec


async def test_connects(env: ProbeEnv) -> None:
    async with RawServer(silent) as server:
        result = await probe(host="127.0.0.1", port=server.port).run(env, timeout=10)
        assert result.ok, result.message
        assert result.message.startswith(f"tcp 127.0.0.1:{server.port}: connected in ")
        assert result.values["latency_seconds"] > 0
        await eventually(lambda: server.open == 0, timeout=10)


async def test_send_and_expect(env: ProbeEnv) -> None:
    async with RawServer(pong) as server:
        result = await probe(host="127.0.0.1", port=server.port, send="PING\r\n", expect=r"^\+PONG").run(env, 10)
        assert result.ok, result.message
        assert ": answered in " in result.message
        wrong = await probe(host="127.0.0.1", port=server.port, send="PONG\r\n", expect=r"^\+PONG").run(env, 0.5)
        assert not wrong.ok
        assert wrong.message.endswith(": timeout after 0.5s waiting for '^\\+PONG'"), wrong.message


async def test_expect_a_banner_without_sending(env: ProbeEnv) -> None:
    async with RawServer(banner) as server:
        assert (await probe(host="127.0.0.1", port=server.port, expect="^SSH-2\\.0-").run(env, 10)).ok


async def test_silent_peer_times_out_saying_what_it_waited_for(env: ProbeEnv) -> None:
    async with RawServer(silent) as server:
        result = await probe(host="127.0.0.1", port=server.port, expect="hello").run(env, timeout=0.5)
        assert not result.ok
        assert result.message == f"tcp 127.0.0.1:{server.port}: timeout after 0.5s waiting for 'hello'"
        await eventually(lambda: server.open == 0, timeout=10)


async def test_refused(env: ProbeEnv) -> None:
    port = free_port()
    result = await probe(host="127.0.0.1", port=port).run(env, timeout=10)
    assert not result.ok
    assert result.message == f"tcp 127.0.0.1:{port}: refused: connection refused"


async def test_peer_hangs_up_before_the_answer(env: ProbeEnv) -> None:
    async with RawServer(hang_up) as server:
        result = await probe(host="127.0.0.1", port=server.port, expect="x").run(env, timeout=10)
    assert not result.ok
    assert "mismatch: the connection closed after 0 bytes" in result.message


async def test_reset(env: ProbeEnv) -> None:
    async with RawServer(reset_after_request) as server:
        result = await probe(host="127.0.0.1", port=server.port, send="GET / HTTP/1.0\r\n\r\n",
                             expect="HTTP").run(env, timeout=10)
    assert not result.ok
    assert ": reset: connection reset by peer" in result.message or "connection closed" in result.message


@pytest.mark.parametrize("params", [{"host": "x", "port": 0}, {"host": "", "port": 80}, {"host": "x", "port": 1,
                                                                                        "expect": "("}])
def test_bad_params(params: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        PROBES["tcp"].model_validate(params)
