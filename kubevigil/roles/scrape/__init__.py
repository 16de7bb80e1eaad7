"""Role `scrape`: pods' Prometheus metrics aggregated to cluster level and published (cni-metrics-helper).

The runtime wiring lives here as plain values for the role table: `build`, `rbac`, `demo_section`, `LEADER`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, cast

from kubevigil.roles.scrape.config import ScrapeSection

if TYPE_CHECKING:
    from kubevigil.roles.role import Role, RoleContext

LEADER = True  # one writer: two replicas would publish every cycle twice


def build(section: ScrapeSection, ctx: RoleContext) -> Role:
    """Build the role; imported late so loading a config does not pull in the Kubernetes client."""
    from kubevigil.roles.scrape.role import ScrapeRole

    return ScrapeRole(section, ctx)


def rbac(section: ScrapeSection) -> list[dict[str, Any]]:
    """Exactly what the section uses: list+watch on pods (informers), get on pods/proxy only with `via: proxy`."""
    rules: list[dict[str, Any]] = [{"apiGroups": [""], "resources": ["pods"], "verbs": ["list", "watch"]}]
    if any(job.via == "proxy" for job in section.jobs):
        rules.append({"apiGroups": [""], "resources": ["pods/proxy"], "verbs": ["get"]})
    return rules


def demo_section(sink_names: list[str], prometheus_sinks: list[str]) -> dict[str, Any]:
    """The demo's aws-node job, every 10 s, through pods/proxy (the emulator's demo ipamd serves both paths)."""
    return {
        "cluster_id": "demo",
        "jobs": [{"name": "aws-node", "interval": 10, "timeout": 5, "via": "proxy",
                  "breakdown": {"by": "node", "rules": ["assignIPAddresses", "totalIPAddresses"]}}],
        "sinks": list(sink_names),
        "prometheus_sinks": list(prometheus_sinks),
    }


async def panel(role: Role, query: Mapping[str, str]) -> dict[str, Any] | None:
    """The role's panel data for the web page (roles/scrape/panel.py), imported late like the role itself."""
    from kubevigil.roles.scrape.panel import panel as data
    from kubevigil.roles.scrape.role import ScrapeRole

    return await data(cast(ScrapeRole, role), query)


__all__ = ["LEADER", "ScrapeSection", "build", "demo_section", "panel", "rbac"]
