"""One timed HTTP GET with its latency phases and a bounded error class.

Phases are kubenurse's httptrace events, each recorded (as seconds since the request started) when it happens:
DNS from aiohttp's TraceConfig, the TCP connect start from the connector's socket factory, the TLS handshake from
the SSL object asyncio drives, the request written and the response headers from TraceConfig again. A context
variable ties them to the check running in the current task.
"""

from __future__ import annotations

import asyncio
import errno
import os
import socket
import ssl
import time
from collections.abc import Awaitable, Callable, Mapping
from contextvars import ContextVar
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any
from urllib.parse import urlsplit

import aiohttp

from kubevigil import __version__

USER_AGENT = f"kubevigil-nurse/{__version__}"
ORIGIN_HEADER = "KUBENURSE-NEIGHBOUR-ORIGIN"
SERVICE_ACCOUNT_CA = Path("/var/run/secrets/kubernetes.io/serviceaccount/ca.crt")

# The `event` label of kubenurse_errors_total: one of these, or status_code_<code> for an answer other than 200.
ERROR_CLASSES = ("refused", "unreachable", "timeout", "reset", "dns", "tls", "other")
PHASES = ("got_conn", "dns_start", "dns_done", "connect_start", "connect_done", "tls_handshake_start",
          "tls_handshake_done", "wrote_request", "got_first_resp_byte")


@dataclass(frozen=True, slots=True)
class Check:
    """What to GET; `api` checks carry kubevigil's API credentials, verify against the cluster CA and never
    follow redirects, and no other check ever carries them."""

    check_type: str
    url: str
    api: bool = False
    origin: str | None = None  # the KUBENURSE-NEIGHBOUR-ORIGIN header, on neighbour checks


@dataclass(frozen=True, slots=True)
class Outcome:
    """How one check went: `event` is None when it answered 200."""

    check_type: str
    ok: bool
    status: int | None  # HTTP status when an answer arrived
    event: str | None  # error class or status_code_<code>
    seconds: float | None  # until the response headers arrived
    phases: tuple[tuple[str, float], ...]  # (phase, seconds since the start), in the order they happened
    detail: str  # what /alive shows: "ok", "503 Service Unavailable", "refused: connection refused", ...
    finished_at: float = 0.0  # wall time

    @classmethod
    def skipped(cls, check_type: str) -> Outcome:
        return cls(check_type, True, None, None, None, (), "skipped")


@dataclass(slots=True)
class _Trace:
    start: float = field(default_factory=time.perf_counter)
    events: dict[str, float] = field(default_factory=dict)

    def mark(self, phase: str) -> None:
        self.events.setdefault(phase, time.perf_counter() - self.start)


_current: ContextVar[_Trace | None] = ContextVar("kubevigil_nurse_trace", default=None)


def _mark(phase: str) -> None:
    trace = _current.get()
    if trace is not None:
        trace.mark(phase)


class _TracedSSLObject(ssl.SSLObject):
    """asyncio calls do_handshake until it completes: the first call is when the TCP connection is up."""

    def do_handshake(self) -> None:
        _mark("connect_done")
        _mark("tls_handshake_start")
        super().do_handshake()
        _mark("tls_handshake_done")


def _socket_factory(addr_info: Any) -> socket.socket:
    _mark("connect_start")
    family, kind, proto = addr_info[0], addr_info[1], addr_info[2]
    return socket.socket(family=family, type=kind, proto=proto)


def _trace_config() -> aiohttp.TraceConfig:
    config = aiohttp.TraceConfig()

    def on(signal: Any, *phases: str) -> None:
        async def handler(_session: Any, _ctx: SimpleNamespace, _params: Any) -> None:
            for phase in phases:
                _mark(phase)

        signal.append(handler)

    on(config.on_dns_resolvehost_start, "dns_start")
    on(config.on_dns_resolvehost_end, "dns_done")
    on(config.on_connection_create_end, "connect_done", "got_conn")  # plain HTTP; TLS marked connect_done earlier
    on(config.on_connection_reuseconn, "got_conn")
    on(config.on_request_headers_sent, "wrote_request")
    on(config.on_request_end, "got_first_resp_byte")
    return config


def traced_context(base: ssl.SSLContext) -> ssl.SSLContext:
    """`base`, set to report its handshakes to the running check (a documented per-instance hook)."""
    base.sslobject_class = _TracedSSLObject
    return base


def plain_context(*, insecure: bool, extra_ca: Path | None, cluster_ca: bool) -> ssl.SSLContext:
    """TLS for every check but the API server's: system CAs, the service account's CA, the extra CA."""
    ctx = ssl.create_default_context()
    if cluster_ca and SERVICE_ACCOUNT_CA.is_file():
        ctx.load_verify_locations(cafile=str(SERVICE_ACCOUNT_CA))
    if extra_ca is not None:
        ctx.load_verify_locations(cafile=str(extra_ca))
    if insecure:
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    return traced_context(ctx)


class Prober:
    """Runs checks over one aiohttp session; `api_headers` gives the credentials of `api` checks."""

    def __init__(self, *, plain_tls: ssl.SSLContext, api_tls: ssl.SSLContext,
                 api_headers: Callable[[], Awaitable[Mapping[str, str]]], timeout: float, connect_timeout: float,
                 reuse_connections: bool = False, resolver: aiohttp.abc.AbstractResolver | None = None) -> None:
        self._plain_tls, self._api_tls, self._api_headers = plain_tls, api_tls, api_headers
        self._timeout = aiohttp.ClientTimeout(total=timeout, connect=connect_timeout, sock_connect=connect_timeout)
        self.timeout_seconds = timeout
        self._reuse = reuse_connections
        self._resolver = resolver
        self._session: aiohttp.ClientSession | None = None

    def _open(self) -> aiohttp.ClientSession:
        if self._session is None:
            connector = aiohttp.TCPConnector(
                force_close=not self._reuse, use_dns_cache=False, limit=0, resolver=self._resolver,
                socket_factory=_socket_factory)
            # trust_env stays off: no proxy in front of what is measured, and no ~/.netrc credentials to anyone
            self._session = aiohttp.ClientSession(connector=connector, trace_configs=[_trace_config()],
                                                  timeout=self._timeout, auto_decompress=False,
                                                  headers={"User-Agent": USER_AGENT})
        return self._session

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def check(self, check: Check) -> Outcome:
        session = self._open()
        trace = _Trace()
        token = _current.set(trace)
        try:
            headers = dict(await self._api_headers()) if check.api else {}
            if check.origin is not None:
                headers[ORIGIN_HEADER] = check.origin
            trace.start = time.perf_counter()
            async with session.get(check.url, headers=headers, allow_redirects=not check.api,
                                   ssl=self._api_tls if check.api else self._plain_tls) as resp:
                status, reason = resp.status, resp.reason or ""
            return _answered(check, trace, status, reason)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            event, detail = classify(exc, self.timeout_seconds)
            if event == "timeout" and "dns_start" in trace.events and "dns_done" not in trace.events:
                event, detail = "dns", f"no answer from DNS for {_host(check.url)}"
            return _failed(check, trace, event, detail)
        finally:
            _current.reset(token)


def _host(url: str) -> str:
    return urlsplit(url).hostname or ""


def _phases(trace: _Trace) -> tuple[tuple[str, float], ...]:
    return tuple(sorted(trace.events.items(), key=lambda item: item[1]))


def _answered(check: Check, trace: _Trace, status: int, reason: str) -> Outcome:
    seconds = trace.events.get("got_first_resp_byte", time.perf_counter() - trace.start)
    ok = status == 200
    return Outcome(check.check_type, ok, status, None if ok else f"status_code_{status}", seconds, _phases(trace),
                   "ok" if ok else f"{status} {reason}".strip(), time.time())


def _failed(check: Check, trace: _Trace, event: str, detail: str) -> Outcome:
    return Outcome(check.check_type, False, None, event, None, _phases(trace), f"{event}: {detail}", time.time())


_REFUSED = {errno.ECONNREFUSED}
_UNREACHABLE = {errno.EHOSTUNREACH, errno.ENETUNREACH, errno.EHOSTDOWN, errno.ENETDOWN, errno.EADDRNOTAVAIL}
_RESET = {errno.ECONNRESET, errno.EPIPE, errno.ECONNABORTED}


def classify(exc: BaseException, timeout: float) -> tuple[str, str]:
    """(error class, one line for people) for a failed request; never the URL, so never a credential in it."""
    if isinstance(exc, asyncio.TimeoutError | TimeoutError):
        return "timeout", f"no answer within {timeout:g}s"
    if isinstance(exc, aiohttp.ClientConnectorDNSError):
        return "dns", f"cannot resolve {exc.host}"
    if isinstance(exc, aiohttp.ClientConnectorCertificateError):
        return "tls", f"certificate not accepted: {_ssl_reason(exc.certificate_error)}"
    if isinstance(exc, aiohttp.ClientConnectorSSLError | aiohttp.ClientSSLError | ssl.SSLError):
        return "tls", f"TLS failed: {_ssl_reason(exc)}"
    if isinstance(exc, aiohttp.ServerDisconnectedError):
        return "reset", "connection closed before an answer"
    code = _errno(exc)
    if code in _REFUSED:
        return "refused", "connection refused"
    if code in _UNREACHABLE:
        return "unreachable", os.strerror(code).lower()
    if code in _RESET or isinstance(exc, ConnectionResetError):
        return "reset", "connection reset by peer"
    if code == errno.ETIMEDOUT:
        return "timeout", "connect timed out"
    return "other", type(exc).__name__


def _errno(exc: BaseException) -> int | None:
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        code = getattr(current, "errno", None)
        if isinstance(code, int) and code > 0:
            return code
        os_error = getattr(current, "os_error", None)
        current = os_error if isinstance(os_error, BaseException) else (current.__cause__ or current.__context__)
    return None


def _ssl_reason(exc: BaseException) -> str:
    inner = getattr(exc, "certificate_error", None) or getattr(exc, "os_error", None) or exc
    text = getattr(inner, "verify_message", None) or getattr(inner, "reason", None) or type(inner).__name__
    return str(text)
