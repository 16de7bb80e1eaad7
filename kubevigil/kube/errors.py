"""Errors of the Kubernetes access layer, and one-line descriptions of whatever a request raised."""

from __future__ import annotations

import os
import ssl

import aiohttp

# metav1.CauseTypeResourceVersionTooLarge: the cause the API server puts on its 504 "Too large resource version".
CAUSE_RV_TOO_LARGE = "ResourceVersionTooLarge"


class ApiError(Exception):
    """The API server answered with a non-2xx status (or an in-stream watch ERROR carrying a Status)."""

    def __init__(self, status: int, reason: str, message: str, causes: tuple[str, ...] = ()) -> None:
        super().__init__(f"{status} {reason}: {message}")
        self.status = status
        self.reason = reason
        self.message = message
        self.causes = causes  # the `reason` of each entry of the Status's details.causes

    @classmethod
    def from_status(cls, status: int, body: object) -> ApiError:
        """Build from a decoded Kubernetes `Status` body (or whatever the server sent instead)."""
        if isinstance(body, dict) and body.get("kind") == "Status":
            details = body.get("details") if isinstance(body.get("details"), dict) else {}
            causes = tuple(str(c.get("reason") or "") for c in (details or {}).get("causes") or ()
                           if isinstance(c, dict))
            return cls(int(body.get("code") or status), str(body.get("reason") or ""), str(body.get("message") or ""),
                       causes)
        text = body.decode(errors="replace") if isinstance(body, bytes) else str(body)
        return cls(status, "", text.strip()[:300])

    @property
    def rv_too_large(self) -> bool:
        """The server has no such resourceVersion yet: its store is older than ours (a restore, a new cluster).

        kube-apiserver's storage.NewTooLargeResourceVersionError: 504 Timeout "Too large resource version: X,
        current: Y" with cause ResourceVersionTooLarge (apimachinery's IsTooLargeResourceVersion checks the same)."""
        return self.status == 504 and CAUSE_RV_TOO_LARGE in self.causes


class KubeConnectError(Exception):
    """The client could not be set up or could not authenticate; str() is one line naming context, server and reason."""


class KubeConfigError(Exception):
    """The kubeconfig or service account cannot be used: missing, malformed, an unknown context."""


class ExecPluginError(KubeConfigError):
    """An exec credential plugin failed; str() names the command and its last line on stderr."""

    def __init__(self, command: str, why: str) -> None:
        super().__init__(f"exec plugin failed ({command}): {why}")


# What a request can raise besides ApiError: no credential (exec plugin, token file), the transport failed or timed
# out, the server closed the stream. Callers retry these later and report them with `describe`.
REQUEST_ERRORS = (KubeConfigError, aiohttp.ClientError, OSError, TimeoutError)
# The subset that means the server cannot be reached at all (refused, no route, connect timed out).
UNREACHABLE = (aiohttp.ClientConnectorError, aiohttp.ConnectionTimeoutError, ConnectionRefusedError)


def describe(exc: BaseException) -> str:
    """Why a request failed, in one line without secrets: "401 Unauthorized: …", "cannot connect: Connection
    refused", "TLS: certificate verify failed: self-signed certificate", "timed out: ReadTimeout"."""
    if isinstance(exc, ApiError):
        return f"{exc.status} {exc.reason or 'error'}: {exc.message}".rstrip(": ")
    if isinstance(exc, KubeConfigError):
        return one_line(exc)
    if isinstance(exc, FileNotFoundError):
        return f"exec plugin not found: {exc.filename or exc}"
    if isinstance(exc, aiohttp.ClientConnectorCertificateError):
        inner = exc.certificate_error
        return f"TLS: certificate verify failed: {getattr(inner, 'verify_message', None) or one_line(inner)}"
    if isinstance(exc, aiohttp.ClientConnectorSSLError | ssl.SSLError):
        inner = exc.os_error if isinstance(exc, aiohttp.ClientConnectorSSLError) else exc
        return f"TLS: {getattr(inner, 'reason', None) or one_line(inner)}"
    if isinstance(exc, aiohttp.ClientConnectorError):
        return f"cannot connect: {_reason(exc.os_error)}"
    if isinstance(exc, TimeoutError):
        return f"timed out: {_timeout_kind(exc)}"
    return f"{type(exc).__name__}: {one_line(exc)}"


def _timeout_kind(exc: TimeoutError) -> str:
    if isinstance(exc, aiohttp.ConnectionTimeoutError):
        return "ConnectTimeout"
    if isinstance(exc, aiohttp.ServerTimeoutError):
        return "ReadTimeout"
    return "Timeout"


def _reason(error: OSError) -> str:
    """"Connection refused", not "[Errno 111] Connect call failed ('127.0.0.1', 9)"."""
    return os.strerror(error.errno) if error.errno else one_line(error)


def one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return text or type(exc).__name__


class BodyTooLarge(Exception):
    """A response body was larger than the caller accepts; the rest was not read."""
