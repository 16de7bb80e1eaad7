"""`kubevigil demo`: the emulator with a small realistic cluster, every role on, local sinks."""

from __future__ import annotations

import base64
import contextlib
import secrets
import socket
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import yaml

from kubevigil.roles.nurse import demo_section as nurse_demo_section
from kubevigil.roles.registry import ROLES

# Each role that exists contributes its demo section; the demo's sinks are fixed and local.
_SECTIONS: dict[str, Callable[[], dict[str, Any]]] = {}


def _status_section() -> dict[str, Any]:
    from kubevigil.roles.status.demo import demo_section

    return demo_section(["metrics-file", "prometheus"])


def _events_section() -> dict[str, Any]:
    from kubevigil.roles.events.config import demo_section

    return demo_section()


def _scrape_section() -> dict[str, Any]:
    from kubevigil.roles.scrape import demo_section

    return demo_section(["metrics-file"], ["prometheus"])


def _checks_section() -> dict[str, Any]:
    from kubevigil.roles.checks import demo_section

    return demo_section({"records": "events-file", "metrics": "metrics-file"})


_SECTIONS.update(status=_status_section, events=_events_section, checks=_checks_section, scrape=_scrape_section,
                 nurse=nurse_demo_section)


# A receiver in outage: Warnings also go to a webhook whose port refuses connections, so the page shows a sink with
# a growing queue, and dead letters once items are older than retry_max_age.
OUTAGE_SINK = "oncall-webhook"
OUTAGE_RETRY_MAX_AGE = 120.0
TOKEN_SECRET = ("default", "kubevigil-demo-token")  # the run-now token (checks.api_token)


def demo_config(out: Path, kubeconfig: Path, port: int, outage_port: int = 9) -> dict[str, Any]:
    """The native config the demo runs with; also written to <out>/config.yaml for people to read."""
    config: dict[str, Any] = {
        "cluster": {"name": "demo", "kubeconfig": str(kubeconfig)},
        "server": {"listen": f"127.0.0.1:{port}"},
        "logging": {"level": "info", "format": "console"},
        "state_dir": str(out / "state"),
        "shutdown_grace": 5,
        "sinks": {
            "stdout": {"stdout": {"layout": {
                "warning": "{{ reason }}",
                "object": "{{ involvedObject.kind }} {{ involvedObject.namespace }}/{{ involvedObject.name }}",
                "count": "{{ count }}",
                "message": "{{ message }}",
            }}},
            "prometheus": {"prometheus": {}},
            "metrics-file": {"file": {"path": str(out / "metrics.jsonl")}},
            "events-file": {"file": {"path": str(out / "events.jsonl")}},
            OUTAGE_SINK: {"webhook": {"endpoint": f"http://127.0.0.1:{outage_port}/oncall"},
                          "delivery": {"timeout": 5, "retry_cap": 20, "retry_max_age": OUTAGE_RETRY_MAX_AGE}},
        },
    }
    for role, section in _SECTIONS.items():
        if role in ROLES:
            config[role] = section()
    if "events" in config:
        config["events"]["route"]["routes"].append({"match": [{"type": "Warning", "receiver": OUTAGE_SINK}]})
    if "checks" in config:
        config["checks"]["api_token"] = {"secret": TOKEN_SECRET[1], "namespace": TOKEN_SECRET[0]}
    return config


@contextlib.contextmanager
def refusing_port() -> Iterator[int]:
    """A loopback port held (bound, never listening) for the demo's life: connections to it are refused."""
    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        yield int(held.getsockname()[1])


def seed_token(store: Any, out: Path) -> Path:
    """The run-now token: a Secret in the emulator, and a copy in <out>/token for the page's token field."""
    token = secrets.token_urlsafe(24)
    namespace, name = TOKEN_SECRET
    store.create(store.resource("v1", "Secret"), {
        "apiVersion": "v1", "kind": "Secret", "metadata": {"name": name, "namespace": namespace},
        "type": "Opaque", "data": {"token": base64.b64encode(token.encode()).decode()}})
    path = out / "token"
    path.touch(mode=0o600)
    path.write_text(token + "\n")
    return path


@contextlib.asynccontextmanager
async def demo_nurses(kubeconfig: Path, state_dir: Path) -> AsyncIterator[None]:
    """One nurse per simulated node on its pod's loopback address (one node slow, one unreachable)."""
    if "nurse" not in ROLES:
        yield
        return
    from kubevigil.kube.client import connect
    from kubevigil.roles.nurse.demo import start_demo_nurses

    api = await connect(str(kubeconfig))
    nurses = await start_demo_nurses(api, cluster_name="demo", state_dir=state_dir)
    try:
        yield
    finally:
        await nurses.stop()
        await api.aclose()


def _banner(out: Path, port: int, roles: list[str]) -> str:
    base = f"http://127.0.0.1:{port}"
    lines = [
        "",
        f"kubevigil demo is running: open {base}/ in a browser.",
        "A simulated 3-node cluster with healthy and broken workloads.",
        f"  roles:       {', '.join(roles) or 'none'}",
        f"  metrics:     {base}/metrics",
        f"  readiness:   {base}/readyz",
        f"  panels JSON: {base}/api/panels",
        f"  config:      {out / 'config.yaml'}",
        f"  outputs:     {out}/ (metrics.jsonl, events.jsonl; dead letters under state/deadletter/)",
        f"  outage:      sink {OUTAGE_SINK} has no receiver (connection refused): its queue grows",
        f"  the cluster: KUBECONFIG={out / 'kubeconfig'} kubectl get pods -A",
    ]
    if "status" in roles:
        lines.insert(6, f"  heartbeat:   {base}/status")
    if "checks" in roles:
        lines.insert(-1, f"  checks:      {base}/api/checks  (KUBECONFIG={out / 'kubeconfig'} kubectl get kubevigil -A)")
        lines.insert(-1, f"  run now:     the token in {out / 'token'} (the page's API token field)")
    lines.append("Ctrl-C stops it.\n")
    return "\n".join(lines)


async def run_demo(out: Path, *, port: int, duration: float | None) -> int:
    from kubevigil.catalog import load
    from kubevigil.runtime import run_until_signal
    from kubevigil.sim.cluster import Cluster
    from kubevigil.sim.ipamd import demo_ipamd
    from kubevigil.sim.workloads import seed_demo_cluster

    out = out.resolve()
    out.mkdir(parents=True, exist_ok=True)
    async with Cluster(workloads=True) as cluster, demo_ipamd(cluster):
        await seed_demo_cluster(cluster.store, cluster.clock)
        if "checks" in ROLES:  # the HealthCheck CRDs and a few checks of each runner kind
            from kubevigil.roles.checks.demo import setup as seed_checks

            seed_checks(cluster.store)
            seed_token(cluster.store, out)
        kubeconfig = cluster.write_kubeconfig(out / "kubeconfig")
        config_path = out / "config.yaml"
        with refusing_port() as outage_port:
            config_path.write_text(yaml.safe_dump(demo_config(out, kubeconfig, port, outage_port), sort_keys=False))
            settings = load(config_path).settings
            roles = settings.roles_enabled()

            def announce(bound_port: int) -> None:
                print(_banner(out, bound_port, roles), flush=True)

            async with demo_nurses(kubeconfig, out / "state" / "nurses"):
                return await run_until_signal(settings, roles, duration, on_started=announce)
