"""Network and API failures as one short reason whose first word says the class (refused, reset, dns, tls …)."""

from __future__ import annotations

import errno
import os
import re
import socket
import ssl

import aiohttp

from kubevigil.kube.errors import ApiError

_REFUSED = "refused: connection refused"
_RESET = "reset: connection reset by peer"
# asyncio joins the errors of a name's several addresses into one OSError without an errno.
_FIRST_ERRNO = re.compile(r"\[Errno (\d+)\]")


def describe(exc: BaseException) -> str:
    """A bounded reason built from the error's class and errno, never its text (which may carry a URL's query)."""
    if isinstance(exc, aiohttp.ClientConnectorCertificateError):
        cause = exc.certificate_error
        return tls_reason(cause) if isinstance(cause, ssl.SSLError) else "tls: certificate verify failed"
    if isinstance(exc, aiohttp.ClientConnectorDNSError):
        return "dns: cannot resolve the host"
    if isinstance(exc, aiohttp.ClientConnectorError):
        return describe(exc.os_error)
    if isinstance(exc, aiohttp.ServerDisconnectedError):
        return "reset: the server closed the connection without answering"
    if isinstance(exc, aiohttp.ClientPayloadError):
        return "reset: the response body was cut short"
    if isinstance(exc, aiohttp.TooManyRedirects):
        return "http: too many redirects"
    if isinstance(exc, aiohttp.InvalidURL):
        return "http: invalid URL"
    if isinstance(exc, aiohttp.ClientResponseError):
        return f"http: bad response ({type(exc).__name__})"
    if isinstance(exc, ssl.SSLError):
        return tls_reason(exc)
    if isinstance(exc, ApiError):
        return f"kubernetes: {exc.status} {exc.reason or 'error'}"
    if isinstance(exc, OSError):
        return _os_reason(exc)
    return f"error: {type(exc).__name__}"


def tls_reason(exc: ssl.SSLError) -> str:
    if isinstance(exc, ssl.SSLCertVerificationError):
        return f"tls: certificate verify failed: {exc.verify_message}"
    return f"tls: handshake failed: {getattr(exc, 'reason', None) or type(exc).__name__}"


def _os_reason(exc: OSError) -> str:
    if isinstance(exc, ConnectionRefusedError):
        return _REFUSED
    if isinstance(exc, ConnectionResetError | BrokenPipeError | ConnectionAbortedError):
        return _RESET
    if isinstance(exc, socket.gaierror):
        return f"dns: cannot resolve the host ({exc.strerror})"
    code = exc.errno
    if code is None and (found := _FIRST_ERRNO.search(str(exc))):
        code = int(found.group(1))
    if code == errno.ECONNREFUSED:  # aiohttp's ClientOSError carries the errno without the subclass
        return _REFUSED
    if code in (errno.ECONNRESET, errno.EPIPE, errno.ECONNABORTED):
        return _RESET
    if code in (errno.EHOSTUNREACH, errno.ENETUNREACH):
        return f"unreachable: {os.strerror(code)}"
    if code:
        return f"network: {os.strerror(code)}"
    return f"network: {type(exc).__name__}"
