"""API errors as kube-apiserver words them: each carries the `Status` object the HTTP layer returns."""

from __future__ import annotations

from typing import Any

from kubevigil.kube.resources import Resource


def qualified(res: Resource) -> str:
    """`pods`, `deployments.apps`: how the API server names a resource in messages."""
    return f"{res.plural}.{res.group}" if res.group else res.plural


class ApiStatusError(Exception):
    """An API error that carries a Kubernetes Status (code, reason, message, details)."""

    def __init__(self, code: int, reason: str, message: str, details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.reason = reason
        self.message = message
        self.details = details

    def status(self) -> dict[str, Any]:
        body: dict[str, Any] = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                                "message": self.message, "reason": self.reason, "code": self.code}
        if self.details is not None:
            body["details"] = self.details
        return body


def not_found(res: Resource, name: str) -> ApiStatusError:
    return ApiStatusError(404, "NotFound", f'{qualified(res)} "{name}" not found',
                          {"name": name, "group": res.group, "kind": res.plural})


def no_such_path() -> ApiStatusError:
    return ApiStatusError(404, "NotFound", "the server could not find the requested resource")


def bad_request(message: str) -> ApiStatusError:
    return ApiStatusError(400, "BadRequest", message)


def invalid(res: Resource, name: str, causes: list[tuple[str, str]]) -> ApiStatusError:
    """422 Invalid with one cause per (field, message)."""
    text = ", ".join(f"{f}: {m}" for f, m in causes)
    group_kind = f"{res.kind}.{res.group}" if res.group else res.kind
    return ApiStatusError(
        422, "Invalid", f'{group_kind} "{name}" is invalid: {text}',
        {"name": name, "group": res.group, "kind": res.kind,
         "causes": [{"reason": "FieldValueRequired" if m == "Required value" else "FieldValueInvalid",
                     "message": m, "field": f} for f, m in causes]})


def expired(requested: int, oldest: int) -> ApiStatusError:
    return ApiStatusError(410, "Expired", f"too old resource version: {requested} ({oldest})")


def too_large(requested: int, current: int) -> ApiStatusError:
    """storage.NewTooLargeResourceVersionError: a read from a resourceVersion the store has not reached."""
    return ApiStatusError(
        504, "Timeout", f"Timeout: Too large resource version: {requested}, current: {current}",
        {"causes": [{"reason": "ResourceVersionTooLarge", "message": "Too large resource version"}],
         "retryAfterSeconds": 1})
