"""Where the client's config comes from (kubeconfig, KUBECONFIG, in-cluster), and whether it changed on disk."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from lightkube.config.kubeconfig import SERVICE_ACCOUNT, KubeConfig, SingleConfig
from lightkube.config.models import UserExec
from lightkube.core.exceptions import ConfigError

from kubevigil.kube.errors import KubeConnectError, one_line

DEFAULT_KUBECONFIG = "~/.kube/config"

# (path, mtime_ns, size, inode) per file; a missing file is (path, None, None, None).
Fingerprint = tuple[tuple[str, int | None, int | None, int | None], ...]


@dataclass(frozen=True)
class ConfigSource:
    """How to find the config: an explicit file, else KUBECONFIG, else the service account, else ~/.kube/config."""

    kubeconfig: str | None = None
    context: str | None = None
    service_account: str = SERVICE_ACCOUNT

    def load(self) -> SingleConfig:
        """Read the config now; KubeConnectError (one line) when it is missing or malformed."""
        try:
            config = self._find().get(self.context)
        except ConfigError as exc:
            raise KubeConnectError(f"cannot load Kubernetes config (context {self.context or 'current'}): "
                                   f"{exc}") from exc
        except (KeyError, TypeError, ValueError, OSError) as exc:
            raise KubeConnectError(f"cannot load Kubernetes config (context {self.context or 'current'}): "
                                   f"malformed kubeconfig: {one_line(exc)}") from exc
        assert config is not None
        if config.user is not None and config.user.exec is not None:
            _accept_exec_v1(config.user.exec)
        return config

    def _find(self) -> KubeConfig:
        if self.kubeconfig:
            return KubeConfig.from_file(self.kubeconfig)
        env = os.environ.get("KUBECONFIG", "")
        candidates = [p for p in env.split(os.pathsep) if p]
        for path in candidates:
            if Path(path).expanduser().is_file():
                return KubeConfig.from_file(path)
        if candidates:
            raise ConfigError(f"no file of KUBECONFIG={env} exists")
        if os.environ.get("KUBERNETES_SERVICE_HOST") and Path(self.service_account, "token").is_file():
            return KubeConfig.from_service_account(self.service_account)
        if Path(DEFAULT_KUBECONFIG).expanduser().is_file():
            return KubeConfig.from_file(DEFAULT_KUBECONFIG)
        raise ConfigError(f"no config found: no --kubeconfig, no KUBECONFIG, not in a cluster "
                          f"({self.service_account}), no {DEFAULT_KUBECONFIG}")


def files_of(config: SingleConfig) -> list[Path]:
    """Every file the config reads: the kubeconfig itself, a token file, CA and client certificate files."""
    found: list[Path] = []
    if config.fname is not None:
        found.append(Path(config.fname))
    named = [config.cluster.certificate_auth]
    if config.user is not None:
        named += [config.user.token_file, config.user.client_cert, config.user.client_key]
    for name in named:
        if name:
            try:
                found.append(Path(config.abs_file(name)))
            except ConfigError:
                found.append(Path(name))
    return found


def fingerprint(paths: list[Path]) -> Fingerprint:
    """What changes when one of the files is rewritten or a kubelet swaps a projected token's symlink."""
    out: list[tuple[str, int | None, int | None, int | None]] = []
    for path in paths:
        try:
            st = path.stat()
        except OSError:
            out.append((str(path), None, None, None))
            continue
        out.append((str(path), st.st_mtime_ns, st.st_size, st.st_ino))
    return tuple(out)


def _accept_exec_v1(exec_: UserExec) -> None:
    # lightkube only knows v1alpha1/v1beta1; the v1 ExecCredential it reads (status.token) is identical.
    if exec_.apiVersion == "client.authentication.k8s.io/v1":
        exec_.apiVersion = "client.authentication.k8s.io/v1beta1"
