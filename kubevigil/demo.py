"""`kubevigil demo`: the emulator with a small realistic cluster, every role on, local sinks."""

from __future__ import annotations

from collections.abc import Callable
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


def demo_config(out: Path, kubeconfig: Path, port: int) -> dict[str, Any]:
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
        },
    }
    for role, section in _SECTIONS.items():
        if role in ROLES:
            config[role] = section()
    return config


def _banner(out: Path, port: int, roles: list[str]) -> str:
    base = f"http://127.0.0.1:{port}"
    lines = [
        "",
        "kubevigil demo is running: a simulated 3-node cluster with healthy and broken workloads.",
        f"  roles:       {', '.join(roles) or 'none'}",
        f"  metrics:     {base}/metrics",
        f"  readiness:   {base}/readyz",
        f"  config:      {out / 'config.yaml'}",
        f"  outputs:     {out}/ (metrics.jsonl, events.jsonl; dead letters under state/deadletter/)",
        f"  the cluster: KUBECONFIG={out / 'kubeconfig'} kubectl get pods -A",
    ]
    if "status" in roles:
        lines.insert(5, f"  heartbeat:   {base}/status")
    if "checks" in roles:
        lines.insert(-1, f"  checks:      {base}/api/checks  (KUBECONFIG={out / 'kubeconfig'} kubectl get kubevigil -A)")
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
        kubeconfig = cluster.write_kubeconfig(out / "kubeconfig")
        config_path = out / "config.yaml"
        config_path.write_text(yaml.safe_dump(demo_config(out, kubeconfig, port), sort_keys=False))
        settings = load(config_path).settings
        roles = settings.roles_enabled()

        def announce(bound_port: int) -> None:
            print(_banner(out, bound_port, roles), flush=True)

        return await run_until_signal(settings, roles, duration, on_started=announce)
