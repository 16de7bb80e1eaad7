"""Who the client is to the API server: the Authorization header of a static token, a token file, an exec plugin
(`aws eks get-token`) or basic auth; each can be told its header was refused (a 401) so the next one is fresh."""

from __future__ import annotations

import asyncio
import base64
import os
import time
from datetime import datetime
from pathlib import Path
from typing import Protocol

import orjson

from kubevigil.kube.errors import ExecPluginError, KubeConfigError
from kubevigil.kube.kubeconfig import ExecPlugin, User

EXEC_API_VERSIONS = ("client.authentication.k8s.io/v1", "client.authentication.k8s.io/v1beta1",
                     "client.authentication.k8s.io/v1alpha1")
# A plugin that hangs (a credential helper waiting for a prompt nobody answers) must not stall every request.
EXEC_TIMEOUT = 60.0
# Run the plugin again this long before its credential expires, as client-go refreshes early.
EXPIRY_MARGIN = 60.0


class Credential(Protocol):
    async def header(self) -> str | None:
        """The Authorization header value now (None: anonymous)."""

    def refused(self) -> None:
        """The server answered 401 to the last header: the next `header()` reads or asks again."""


class Anonymous:
    async def header(self) -> str | None:
        return None

    def refused(self) -> None:
        return None


class StaticHeader:
    """A token or basic auth written in the kubeconfig: nothing to refresh."""

    def __init__(self, value: str) -> None:
        self._value = value

    async def header(self) -> str | None:
        return self._value

    def refused(self) -> None:
        return None


class TokenFile:
    """A token read from a file (a projected service account token the kubelet rotates), read again after a 401."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._value: str | None = None

    async def header(self) -> str | None:
        if self._value is None:
            try:
                token = self._path.read_text().strip()
            except OSError as exc:
                raise KubeConfigError(f"token file {self._path}: {exc.strerror or exc}") from exc
            self._value = f"Bearer {token}"
        return self._value

    def refused(self) -> None:
        self._value = None


class ExecCredential:
    """The token an exec plugin prints, kept until its expirationTimestamp (less a margin) or a 401."""

    def __init__(self, plugin: ExecPlugin) -> None:
        if plugin.api_version not in EXEC_API_VERSIONS:
            raise KubeConfigError(f"exec plugin apiVersion {plugin.api_version!r} is not one of "
                                  f"{', '.join(EXEC_API_VERSIONS)}")
        self._plugin = plugin
        self._value: str | None = None
        self._until = 0.0
        self._lock = asyncio.Lock()

    async def header(self) -> str | None:
        async with self._lock:  # concurrent first requests run the plugin once
            if self._value is None or time.time() >= self._until:
                token, expires = await self._run()
                self._value, self._until = f"Bearer {token}", expires - EXPIRY_MARGIN
            return self._value

    def refused(self) -> None:
        self._value = None

    async def _run(self) -> tuple[str, float]:
        plugin = self._plugin
        info = {"apiVersion": plugin.api_version, "kind": "ExecCredential", "spec": {"interactive": False}}
        env = {**os.environ, **dict(plugin.env), "KUBERNETES_EXEC_INFO": orjson.dumps(info).decode()}
        proc = await asyncio.create_subprocess_exec(plugin.command, *plugin.args, env=env, stdin=asyncio.subprocess.DEVNULL,
                                                    stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
        try:
            async with asyncio.timeout(EXEC_TIMEOUT):
                out, err = await proc.communicate()
        except TimeoutError:
            proc.kill()
            await proc.wait()
            raise ExecPluginError(plugin.command, f"no answer within {EXEC_TIMEOUT:g} s") from None
        if proc.returncode != 0:
            raise ExecPluginError(plugin.command, _last_line(err) or f"exit status {proc.returncode}")
        return _token_of(out, plugin.command)


def credential_for(user: User) -> Credential:
    """The credential a kubeconfig user names, in kubectl's order of precedence."""
    if user.token_file is not None:
        return TokenFile(user.token_file)
    if user.token:
        return StaticHeader(f"Bearer {user.token}")
    if user.exec is not None:
        return ExecCredential(user.exec)
    if user.username and user.password:
        basic = base64.b64encode(f"{user.username}:{user.password}".encode()).decode()
        return StaticHeader(f"Basic {basic}")
    return Anonymous()


def _token_of(out: bytes, command: str) -> tuple[str, float]:
    try:
        status = orjson.loads(out)["status"]
        token = status["token"]
    except (orjson.JSONDecodeError, KeyError, TypeError):
        raise ExecPluginError(command, "its output is not an ExecCredential with status.token") from None
    expires = status.get("expirationTimestamp")
    if not expires:
        return str(token), float("inf")
    try:
        return str(token), datetime.fromisoformat(str(expires).replace("Z", "+00:00")).timestamp()
    except ValueError:
        raise ExecPluginError(command, f"expirationTimestamp {expires!r} is not RFC 3339") from None


def _last_line(stderr: bytes) -> str:
    lines = [line.strip() for line in stderr.decode(errors="replace").splitlines() if line.strip()]
    return lines[-1] if lines else ""
