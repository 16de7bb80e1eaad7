"""Request headers whose values are secrets: literal (from config or `${ENV}`) or read from a Secret at run time."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from typing import TYPE_CHECKING, Annotated

from pydantic import AfterValidator, Field, SecretStr

from kubevigil.core.model import Model
from kubevigil.kube.errors import ApiError
from kubevigil.kube.resources import by_kind
from kubevigil.roles.checks.probes.probe import CheckFailed

if TYPE_CHECKING:
    from kubevigil.kube.client import KubeApi

_TOKEN = frozenset("!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")
_SECRET = by_kind("Secret")


class SecretKeyRef(Model):
    """A header value kept in a Secret: `{secret: api-token, namespace: shop, key: token, prefix: "Bearer "}`."""

    secret: str = Field(min_length=1, description="Name of the Secret")
    namespace: str = Field(min_length=1, description="Namespace of the Secret")
    key: str = Field(min_length=1, description="Key in the Secret's data")
    prefix: str = Field("", description="Text put before the value, e.g. 'Bearer '")


def _header_names(headers: dict[str, SecretStr | SecretKeyRef]) -> dict[str, SecretStr | SecretKeyRef]:
    for name in headers:
        if not name or not set(name) <= _TOKEN:
            raise ValueError(f"{name!r} is not a valid HTTP header name")
    return headers


Headers = Annotated[dict[str, SecretStr | SecretKeyRef], AfterValidator(_header_names)]


async def resolve_headers(headers: Mapping[str, SecretStr | SecretKeyRef], api: KubeApi) -> dict[str, str]:
    """The headers to send; a value that cannot be read fails the check naming the header, never the value."""
    resolved: dict[str, str] = {}
    for name, value in headers.items():
        text = value.get_secret_value() if isinstance(value, SecretStr) else await _read(value, api)
        if any((c < " " and c != "\t") or c == "\x7f" for c in text):
            raise CheckFailed(f"config: the value of header {name!r} has a control character (a line break?)")
        resolved[name] = text
    return resolved


async def _read(ref: SecretKeyRef, api: KubeApi) -> str:
    where = f"Secret {ref.namespace}/{ref.secret}"
    try:
        secret = await api.get(_SECRET, ref.namespace, ref.secret)
    except ApiError as exc:
        if exc.status == 404:
            raise CheckFailed(f"config: {where} not found") from None
        raise
    encoded = (secret.get("data") or {}).get(ref.key)
    if encoded is None:
        raise CheckFailed(f"config: {where} has no key {ref.key!r}")
    try:
        # A Secret made from a file usually ends in a newline, which no header value may hold.
        return ref.prefix + base64.b64decode(encoded, validate=True).decode().rstrip("\r\n")
    except (binascii.Error, UnicodeDecodeError):
        raise CheckFailed(f"config: key {ref.key!r} of {where} is not UTF-8 text") from None
