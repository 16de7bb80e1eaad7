"""One key of a Secret read through the API and cached briefly: a rotated token is in use within the cache time."""

from __future__ import annotations

import base64
import time
from collections.abc import Callable

from kubevigil.kube.client import KubeApi
from kubevigil.kube.errors import REQUEST_ERRORS, ApiError
from kubevigil.kube.resources import by_kind

SECRET = by_kind("Secret")
CACHE_SECONDS = 30.0


class SecretKey:
    """The text under `key` in Secret `namespace/name` (stripped), or None when it is missing or unreadable."""

    def __init__(self, api: KubeApi, namespace: str, name: str, key: str, *, cache_seconds: float = CACHE_SECONDS,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        self.namespace = namespace
        self.name = name
        self.key = key
        self._api = api
        self._cache_seconds = cache_seconds
        self._monotonic = monotonic
        self._value: str | None = None
        self._read_at: float | None = None

    async def get(self) -> str | None:
        now = self._monotonic()
        if self._read_at is not None and now - self._read_at < self._cache_seconds:
            return self._value
        try:
            secret = await self._api.get(SECRET, self.namespace, self.name)
            raw = (secret.get("data") or {}).get(self.key)
            self._value = base64.b64decode(raw).decode().strip() if raw else None
        except (ApiError, *REQUEST_ERRORS, ValueError):  # unreadable: no token, so no access
            self._value = None
        self._read_at = now
        return self._value
