"""Where the client's config comes from (kubeconfig, KUBECONFIG, in-cluster), and whether it changed on disk."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from kubevigil.kube import kubeconfig
from kubevigil.kube.errors import KubeConfigError, KubeConnectError, one_line
from kubevigil.kube.kubeconfig import SERVICE_ACCOUNT, ContextConfig

DEFAULT_KUBECONFIG = "~/.kube/config"

# (path, mtime_ns, size, inode) per file; a missing file is (path, None, None, None).
Fingerprint = tuple[tuple[str, int | None, int | None, int | None], ...]


@dataclass(frozen=True)
class ConfigSource:
    """How to find the config: an explicit file, else KUBECONFIG, else the service account, else ~/.kube/config."""

    kubeconfig: str | None = None
    context: str | None = None
    service_account: str = SERVICE_ACCOUNT

    def load(self) -> ContextConfig:
        """Read the config now; KubeConnectError (one line) when it is missing or malformed."""
        try:
            return self._find()
        except KubeConfigError as exc:
            raise KubeConnectError(f"cannot load Kubernetes config (context {self.context or 'current'}): "
                                   f"{one_line(exc)}") from exc
        except (KeyError, TypeError, ValueError, OSError) as exc:
            raise KubeConnectError(f"cannot load Kubernetes config (context {self.context or 'current'}): "
                                   f"malformed kubeconfig: {one_line(exc)}") from exc

    def _find(self) -> ContextConfig:
        if self.kubeconfig:
            return kubeconfig.from_file(Path(self.kubeconfig).expanduser(), self.context)
        env = os.environ.get("KUBECONFIG", "")
        candidates = [Path(p).expanduser() for p in env.split(os.pathsep) if p]
        for path in candidates:
            if path.is_file():
                return kubeconfig.from_file(path, self.context)
        if candidates:
            raise KubeConfigError(f"no file of KUBECONFIG={env} exists")
        if os.environ.get("KUBERNETES_SERVICE_HOST") and Path(self.service_account, "token").is_file():
            return kubeconfig.from_service_account(Path(self.service_account))
        if Path(DEFAULT_KUBECONFIG).expanduser().is_file():
            return kubeconfig.from_file(Path(DEFAULT_KUBECONFIG).expanduser(), self.context)
        raise KubeConfigError(f"no config found: no --kubeconfig, no KUBECONFIG, not in a cluster "
                              f"({self.service_account}), no {DEFAULT_KUBECONFIG}")


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
