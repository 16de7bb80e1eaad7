"""Errors of the Kubernetes access layer."""

from __future__ import annotations


class ApiError(Exception):
    """The API server answered with a non-2xx status (or an in-stream watch ERROR carrying a Status)."""

    def __init__(self, status: int, reason: str, message: str) -> None:
        super().__init__(f"{status} {reason}: {message}")
        self.status = status
        self.reason = reason
        self.message = message

    @classmethod
    def from_status(cls, status: int, body: object) -> ApiError:
        """Build from a decoded Kubernetes `Status` body (or whatever the server sent instead)."""
        if isinstance(body, dict) and body.get("kind") == "Status":
            return cls(int(body.get("code") or status), str(body.get("reason") or ""), str(body.get("message") or ""))
        text = body.decode(errors="replace") if isinstance(body, bytes) else str(body)
        return cls(status, "", text.strip()[:300])


class KubeConnectError(Exception):
    """The client could not be set up or could not authenticate; str() is one line naming context, server and reason."""


class BodyTooLarge(Exception):
    """A response body was larger than the caller accepts; the rest was not read."""
