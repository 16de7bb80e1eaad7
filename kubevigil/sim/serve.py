"""`kubevigil sim serve`: run the emulator (workload simulator on, real clock) until interrupted."""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
from pathlib import Path

from kubevigil.sim.cluster import Cluster


async def serve(port: int, kubeconfig_out: Path, *, nodes: int = 3, token: str | None = None,
                workloads: bool = True, stop: asyncio.Event | None = None, state_file: Path | None = None,
                cert_dir: Path | None = None, token_file: Path | None = None) -> None:
    """Serve on 127.0.0.1:`port`, write a kubeconfig to `kubeconfig_out`, run until `stop` is set or SIGINT/TERM."""
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        try:
            loop.add_signal_handler(sig, stop.set)
        except (NotImplementedError, RuntimeError):
            pass  # not the main thread: the caller stops us through `stop`
    async with Cluster(port=port, token=token, workloads=workloads, state_file=state_file, cert_dir=cert_dir,
                       token_file=token_file) as cluster:
        for i in range(nodes):
            if cluster.store.try_get(cluster.store.resource("v1", "Node"), None, f"node-{i + 1}") is None:
                cluster.add_node(f"node-{i + 1}")
        path = cluster.write_kubeconfig(kubeconfig_out)
        print(f"kubevigil sim serving {cluster.url}; kubeconfig written to {path}", file=sys.stderr, flush=True)
        await stop.wait()


def add_sim_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:  # type: ignore[type-arg]
    """Add `sim serve` to the CLI; the parsed namespace's `func` runs it and returns the exit code."""
    sim = subparsers.add_parser("sim", help="the Kubernetes API emulator")
    sim_sub = sim.add_subparsers(dest="sim_command", required=True, metavar="COMMAND")
    p = sim_sub.add_parser("serve", help="serve an emulated cluster on 127.0.0.1 and write a kubeconfig for it")
    p.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (default: an ephemeral one)")
    p.add_argument("--kubeconfig-out", type=Path, required=True, help="where to write the kubeconfig")
    p.add_argument("--nodes", type=int, default=3, help="Ready nodes to register (default 3)")
    p.add_argument("--token", default=None, help="bearer token to accept (default: random)")
    p.add_argument("--no-workloads", action="store_true", help="do not run the workload simulator")
    p.add_argument("--state-file", type=Path, default=None,
                   help="keep the cluster's objects and resourceVersions in this file across restarts")
    p.add_argument("--cert-dir", type=Path, default=None,
                   help="keep the serving certificate (tls.crt, tls.key) here across restarts (default: new each start)")
    p.add_argument("--token-file", type=Path, default=None,
                   help="read the admin token from this file (written if absent); writing a new one rotates it")
    p.set_defaults(func=run_serve)
    return sim


def run_serve(args: argparse.Namespace) -> int:
    """Run `sim serve` from parsed arguments; returns the process exit code."""
    if not 0 <= args.port <= 65535:
        print(f"kubevigil sim serve: --port {args.port} is not a TCP port (0-65535)", file=sys.stderr)
        return 2
    try:
        asyncio.run(serve(args.port, args.kubeconfig_out, nodes=args.nodes, token=args.token,
                          workloads=not args.no_workloads, state_file=args.state_file, cert_dir=args.cert_dir,
                          token_file=args.token_file))
    except (ValueError, OSError) as e:
        print(f"kubevigil sim serve: {e}", file=sys.stderr)
        return 2
    return 0
