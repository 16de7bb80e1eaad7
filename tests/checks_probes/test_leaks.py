"""Runs that time out or fail leave no socket and no task behind (counted as open file descriptors and tasks)."""

from __future__ import annotations

import asyncio
import gc
import os
import socket
import warnings
from pathlib import Path

from kubevigil.roles.checks.probes import PROBES, ProbeEnv
from tests.checks_probes.certs import make_ca, make_leaf
from tests.checks_probes.servers import RawServer, http_app, serve, silent
from tests.conditions import eventually
from tests.loopback import free_port


def open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


async def test_tcp_tls_dns_runs_release_everything(env: ProbeEnv, tmp_path: Path) -> None:
    # An unclosed transport is closed by the garbage collector too, so only its ResourceWarning tells.
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ResourceWarning)
        await _run_all(env, tmp_path)
        gc.collect()
    assert [str(w.message) for w in caught if issubclass(w.category, ResourceWarning)] == []


async def _run_all(env: ProbeEnv, tmp_path: Path) -> None:
    ca = make_ca()
    (tmp_path / "ca.crt").write_bytes(ca.cert_pem)
    server_tls = make_leaf(ca, ["127.0.0.1"], 30).server_context(tmp_path, "leaf")
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as mute:
        mute.bind(("127.0.0.1", 0))
        async with RawServer(silent) as quiet, serve(http_app(), ssl_context=server_tls) as https:
            tls_port = int(https.rsplit(":", 1)[1])
            runs = [
                ("tcp", {"host": "127.0.0.1", "port": quiet.port, "expect": "never"}, 0.2),
                ("tcp", {"host": "127.0.0.1", "port": quiet.port}, 5),
                ("tcp", {"host": "127.0.0.1", "port": free_port()}, 5),
                ("tls", {"host": "127.0.0.1", "port": quiet.port}, 0.2),
                ("tls", {"host": "127.0.0.1", "port": tls_port, "ca_file": str(tmp_path / "ca.crt")}, 5),
                ("tls", {"host": "127.0.0.1", "port": tls_port}, 5),  # verify fails, second handshake
                ("dns", {"name": "x.probe.test", "server": f"127.0.0.1:{mute.getsockname()[1]}"}, 0.2),
            ]
            specs = [(PROBES[kind].model_validate(params), timeout) for kind, params, timeout in runs]
            for spec, timeout in specs:  # once first: imports, caches and the TLS server's own sockets settle
                await spec.run(env, timeout)
            fds, tasks = open_fds(), len(asyncio.all_tasks())
            for _ in range(5):
                for spec, timeout in specs:
                    await spec.run(env, timeout)
            await eventually(lambda: open_fds() <= fds and len(asyncio.all_tasks()) <= tasks, timeout=30)
            await eventually(lambda: quiet.open == 0, timeout=30)
