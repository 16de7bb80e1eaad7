"""`kubevigil demo`: the emulator with a small realistic cluster, every role on, local sinks.

Each role brings its own part through its spec (`RoleSpec.demo`: its section, the sinks only it uses, a setup on
the emulator, lines of the banner); nothing here knows a role by name.
"""

from __future__ import annotations

import contextlib
import socket
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import yaml

from kubevigil.roles.registry import ROLES
from kubevigil.roles.role import DemoEnvironment, DemoSinks

CLUSTER_NAME = "demo"
SINKS = DemoSinks()
# The sink in outage: a webhook whose port refuses connections, so the page shows a queue growing, then dead letters
# once items are older than this.
OUTAGE_RETRY_MAX_AGE = 120.0
# Where nothing listens on an ordinary machine (the discard port); `kubevigil demo` holds a port of its own instead.
REFUSING_PORT = 9


def demo_config(out: Path, kubeconfig: Path, port: int, outage_port: int = REFUSING_PORT) -> dict[str, Any]:
    """The native config the demo runs with; also written to <out>/config.yaml for people to read."""
    sinks: dict[str, Any] = {
        SINKS.prometheus: {"prometheus": {}},
        SINKS.metrics: {"file": {"path": str(out / "metrics.jsonl")}},
        SINKS.records: {"file": {"path": str(out / "events.jsonl")}},
        SINKS.outage: {"webhook": {"endpoint": f"http://127.0.0.1:{outage_port}/oncall"},
                       "delivery": {"timeout": 5, "retry_cap": 20, "retry_max_age": OUTAGE_RETRY_MAX_AGE}},
    }
    config: dict[str, Any] = {
        "cluster": {"name": CLUSTER_NAME, "kubeconfig": str(kubeconfig)},
        "server": {"listen": f"127.0.0.1:{port}"},
        "logging": {"level": "info", "format": "console"},
        "state_dir": str(out / "state"),
        "shutdown_grace": 5,
        # One replica: it takes the (emulated) Lease at once and runs the leader roles too.
        "leader_election": {"namespace": "default", "lease_name": "kubevigil-demo"},
        "sinks": sinks,
    }
    for name, spec in ROLES.items():
        if spec.demo is not None:
            sinks.update({sink: dict(params) for sink, params in spec.demo.sinks.items()})
            config[name] = spec.demo.section(SINKS)
    return config


def _banner(out: Path, port: int, roles: list[str]) -> str:
    base = f"http://127.0.0.1:{port}"
    kubeconfig = out / "kubeconfig"
    links = [(label, text.format(base=base, kubeconfig=kubeconfig, out=out))
             for name in roles if (demo := ROLES[name].demo) is not None for label, text in demo.links]
    lines = [
        "",
        f"kubevigil demo is running: open {base}/ in a browser.",
        "A simulated 3-node cluster with healthy and broken workloads.",
        f"  roles:       {', '.join(roles) or 'none'}",
        f"  metrics:     {base}/metrics",
        f"  readiness:   {base}/readyz",
        f"  process:     {base}/api/process",
        f"  panels JSON: {base}/api/panels",
        *(f"  {label + ':':<12} {text}" for label, text in links),
        f"  config:      {out / 'config.yaml'}",
        f"  outputs:     {out}/ (metrics.jsonl, events.jsonl; dead letters under state/deadletter/)",
        f"  outage:      sink {SINKS.outage} has no receiver (connection refused): its queue grows",
        f"  the cluster: KUBECONFIG={kubeconfig} kubectl get pods -A",
        "Ctrl-C stops it.\n",
    ]
    return "\n".join(lines)


@contextlib.contextmanager
def refusing_port() -> Iterator[int]:
    """A loopback port held (bound, never listening) for the demo's life: connections to it are refused."""
    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        yield int(held.getsockname()[1])


@contextlib.asynccontextmanager
async def demo_world(out: Path) -> AsyncIterator[Path]:
    """The demo's emulated cluster with every role's demo setup applied; yields its kubeconfig (in `out`)."""
    from kubevigil.kube.client import connect
    from kubevigil.sim.demo import demo_cluster

    async with demo_cluster() as cluster, contextlib.AsyncExitStack() as setups:
        kubeconfig = cluster.write_kubeconfig(out / "kubeconfig")
        api = await connect(str(kubeconfig))
        setups.push_async_callback(api.aclose)
        env = DemoEnvironment(api=api, cluster_name=CLUSTER_NAME, out=out)
        for spec in ROLES.values():
            if spec.demo is not None and spec.demo.setup is not None:
                await setups.enter_async_context(spec.demo.setup(env))
        yield kubeconfig


async def run_demo(out: Path, *, port: int, duration: float | None) -> int:
    from kubevigil.catalog import load
    from kubevigil.runtime import run_until_signal

    out = out.resolve()
    out.mkdir(parents=True, exist_ok=True)
    async with demo_world(out) as kubeconfig:
        with refusing_port() as outage_port:
            config_path = out / "config.yaml"
            config_path.write_text(yaml.safe_dump(demo_config(out, kubeconfig, port, outage_port), sort_keys=False))
            settings = load(config_path).settings
            roles = settings.roles_enabled()

            def announce(bound_port: int) -> None:
                print(_banner(out, bound_port, roles), flush=True)

            return await run_until_signal(settings, roles, duration, on_started=announce)
