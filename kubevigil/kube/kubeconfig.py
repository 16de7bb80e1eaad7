"""One context of a kubeconfig (or of the pod's service account): where the API server is and who we are to it.

Read as kubectl reads it: `current-context` unless one is named, relative file names resolved against the
kubeconfig's folder, `*-data` fields base64; keys kubevigil does not use are ignored, as kubectl ignores them.
"""

from __future__ import annotations

import base64
import binascii
import os
import ssl
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from kubevigil.kube.errors import KubeConfigError

SERVICE_ACCOUNT = "/var/run/secrets/kubernetes.io/serviceaccount"
DEFAULT_NAMESPACE = "default"


@dataclass(frozen=True)
class ExecPlugin:
    """`users[].user.exec`: a command that prints an ExecCredential (aws eks get-token, aws-iam-authenticator)."""

    api_version: str
    command: str
    args: tuple[str, ...] = ()
    env: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class Cluster:
    server: str
    ca_file: Path | None = None
    ca_data: str | None = None  # PEM text
    insecure: bool = False
    tls_server_name: str | None = None


@dataclass(frozen=True)
class User:
    token: str | None = None
    token_file: Path | None = None
    client_cert: Path | None = None
    client_key: Path | None = None
    client_cert_data: bytes | None = None
    client_key_data: bytes | None = None
    username: str | None = None
    password: str | None = None
    exec: ExecPlugin | None = None


@dataclass(frozen=True)
class ContextConfig:
    """The chosen context: its name, namespace, cluster and user, and the file it came from (None in a pod)."""

    context_name: str
    cluster: Cluster
    user: User = field(default_factory=User)
    namespace: str = DEFAULT_NAMESPACE
    file: Path | None = None

    def files(self) -> list[Path]:
        """Every file this config reads: the kubeconfig itself, a token file, CA and client certificate files."""
        named = [self.file, self.cluster.ca_file, self.user.token_file, self.user.client_cert, self.user.client_key]
        return [path for path in named if path is not None]

    def tls_context(self) -> ssl.SSLContext:
        """A client TLS context that trusts the cluster's CA (or the system's) and presents the client certificate."""
        cluster = self.cluster
        if cluster.ca_file is not None or cluster.ca_data is not None:
            ctx = ssl.create_default_context(cafile=cluster.ca_file, cadata=cluster.ca_data)
        else:
            ctx = ssl.create_default_context()
        if cluster.insecure:
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
        _load_client_cert(ctx, self.user)
        return ctx


def anonymous(server: str) -> ContextConfig:
    """A config with no credential for `server` (a `kubectl proxy`, or a client whose API is never called)."""
    return ContextConfig(context_name="anonymous", cluster=Cluster(server=server.rstrip("/")))


def from_file(path: Path, context: str | None) -> ContextConfig:
    """The context `context` (default: current-context) of the kubeconfig at `path`."""
    if not path.is_file():
        raise KubeConfigError(f"Configuration file {path} not found")
    doc = yaml.safe_load(path.read_text())
    if not isinstance(doc, dict):
        raise KubeConfigError(f"{path}: not a kubeconfig (a YAML mapping with clusters, users and contexts)")
    return _choose(doc, context, path)


def from_service_account(directory: Path, environ: Mapping[str, str] = os.environ) -> ContextConfig:
    """The pod's own identity: its service account token, the cluster CA and KUBERNETES_SERVICE_HOST/PORT."""
    try:
        namespace = (directory / "namespace").read_text().strip()
        token = (directory / "token").read_text().strip()
    except OSError as exc:
        raise KubeConfigError(f"service account {directory}: {exc.strerror or exc}") from exc
    host, port = environ["KUBERNETES_SERVICE_HOST"], environ.get("KUBERNETES_SERVICE_PORT", "443")
    if ":" in host:
        host = f"[{host}]"
    return ContextConfig(context_name="in-cluster",
                         cluster=Cluster(server=f"https://{host}:{port}", ca_file=directory / "ca.crt"),
                         user=User(token=token, token_file=directory / "token"), namespace=namespace or DEFAULT_NAMESPACE)


def _choose(doc: dict[str, Any], context: str | None, path: Path) -> ContextConfig:
    name = context or doc.get("current-context")
    if not name:
        raise KubeConfigError("No current context set and no context named")
    contexts = _named(doc, "contexts", "context")
    if name not in contexts:
        raise KubeConfigError(f"Context '{name}' not found")
    ctx = contexts[name]
    clusters, users = _named(doc, "clusters", "cluster"), _named(doc, "users", "user")
    cluster_name, user_name = ctx.get("cluster"), ctx.get("user")
    if cluster_name not in clusters:
        raise KubeConfigError(f"context '{name}': cluster '{cluster_name}' not found")
    if user_name and user_name not in users:
        raise KubeConfigError(f"context '{name}': user '{user_name}' not found")
    return ContextConfig(context_name=str(name), cluster=_cluster(clusters[cluster_name], path),
                         user=_user(users[user_name], path) if user_name else User(),
                         namespace=str(ctx.get("namespace") or DEFAULT_NAMESPACE), file=path)


def _named(doc: dict[str, Any], key: str, inner: str) -> dict[str, dict[str, Any]]:
    entries = doc.get(key) or []
    if not isinstance(entries, list):
        raise KubeConfigError(f"{key}: expected a list")
    out: dict[str, dict[str, Any]] = {}
    for i, entry in enumerate(entries):
        if not isinstance(entry, dict) or not isinstance(entry.get("name"), str):
            raise KubeConfigError(f"{key}[{i}]: expected a mapping with a name")
        body = entry.get(inner) or {}
        if not isinstance(body, dict):
            raise KubeConfigError(f"{key}[{i}].{inner}: expected a mapping")
        out[entry["name"]] = body
    return out


def _cluster(raw: dict[str, Any], path: Path) -> Cluster:
    server = raw.get("server")
    if not isinstance(server, str) or not server:
        raise KubeConfigError("cluster: no server")
    return Cluster(server=server.rstrip("/"), ca_file=_file(raw.get("certificate-authority"), path),
                   ca_data=_pem(raw.get("certificate-authority-data"), "certificate-authority-data"),
                   insecure=raw.get("insecure-skip-tls-verify") is True, tls_server_name=raw.get("tls-server-name"))


def _user(raw: dict[str, Any], path: Path) -> User:
    if raw.get("auth-provider"):
        raise KubeConfigError("user: auth-provider is not supported (use an exec plugin, as kubectl 1.26+ does)")
    cert_data, key_data = raw.get("client-certificate-data"), raw.get("client-key-data")
    return User(token=raw.get("token"), token_file=_file(raw.get("tokenFile"), path),
                client_cert=_file(raw.get("client-certificate"), path), client_key=_file(raw.get("client-key"), path),
                client_cert_data=_b64(cert_data, "client-certificate-data") if cert_data else None,
                client_key_data=_b64(key_data, "client-key-data") if key_data else None,
                username=raw.get("username"), password=raw.get("password"), exec=_exec(raw.get("exec")))


def _exec(raw: Any) -> ExecPlugin | None:
    if not raw:
        return None
    if not isinstance(raw, dict) or not isinstance(raw.get("command"), str):
        raise KubeConfigError("user.exec: needs a command")
    env = tuple((str(e["name"]), str(e.get("value", ""))) for e in raw.get("env") or () if isinstance(e, dict))
    return ExecPlugin(api_version=str(raw.get("apiVersion") or ""), command=raw["command"],
                      args=tuple(str(a) for a in raw.get("args") or ()), env=env)


def _file(name: Any, kubeconfig: Path) -> Path | None:
    if not name:
        return None
    path = Path(str(name)).expanduser()
    return path if path.is_absolute() else kubeconfig.parent / path


def _b64(value: Any, key: str) -> bytes:
    try:
        return base64.b64decode(str(value), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise KubeConfigError(f"{key}: not base64") from exc


def _pem(value: Any, key: str) -> str | None:
    return _b64(value, key).decode(errors="replace") if value else None


def _load_client_cert(ctx: ssl.SSLContext, user: User) -> None:
    """ssl loads certificates only from files: inline data goes through a private temporary file."""
    if user.client_cert is not None:
        ctx.load_cert_chain(user.client_cert, user.client_key)
        return
    if user.client_cert_data is None:
        return
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        cert, key = Path(tmp, "client.crt"), Path(tmp, "client.key")
        cert.write_bytes(user.client_cert_data)
        key.write_bytes(user.client_key_data or b"")
        ctx.load_cert_chain(cert, key if user.client_key_data else None)
