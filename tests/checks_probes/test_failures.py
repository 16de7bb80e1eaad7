"""Failure reasons are classified from the error's class and errno, never copied from its text."""

from __future__ import annotations

import errno
import socket
import ssl

import aiohttp
import pytest

from kubevigil.kube.errors import ApiError
from kubevigil.roles.checks.probes.failures import describe
from kubevigil.roles.checks.probes.probe import one_line


@pytest.mark.parametrize(("exc", "reason"), [
    (ConnectionRefusedError(errno.ECONNREFUSED, "x"), "refused: connection refused"),
    (aiohttp.ClientOSError(errno.ECONNREFUSED, "x"), "refused: connection refused"),
    (OSError("Multiple exceptions: [Errno 111] Connect call failed ('::1', 80), [Errno 99] Cannot assign"),
     "refused: connection refused"),
    (ConnectionResetError(errno.ECONNRESET, "x"), "reset: connection reset by peer"),
    (OSError(errno.EHOSTUNREACH, "x"), "unreachable: No route to host"),
    (socket.gaierror(socket.EAI_NONAME, "Name or service not known"),
     "dns: cannot resolve the host (Name or service not known)"),
    (aiohttp.ServerDisconnectedError(), "reset: the server closed the connection without answering"),
    (aiohttp.TooManyRedirects(None, ()), "http: too many redirects"),  # type: ignore[arg-type]
    (ssl.SSLError(1, "[SSL: WRONG_VERSION_NUMBER] wrong version number"), "tls: handshake failed: SSLError"),
    (ApiError(403, "Forbidden", "pods is forbidden: User cannot list"), "kubernetes: 403 Forbidden"),
    (OSError(), "network: OSError"),
])
def test_reasons(exc: BaseException, reason: str) -> None:
    assert describe(exc) == reason


def test_one_line_collapses_and_bounds() -> None:
    assert one_line("a\n  b\tc") == "a b c"
    long = one_line("x" * 1000)
    assert len(long) == 300 and long.endswith("…")
