"""Role `scrape`: pods' Prometheus metrics aggregated to cluster level and published (cni-metrics-helper).

This module stays light (the role's table line): its config model is imported when a config has its section, the
role when it is built.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from kubevigil.config.tables import FromEnvironment
from kubevigil.roles.rbac import Access, PolicyRule
from kubevigil.roles.role import DemoSinks, Role, RoleContext, RoleDemo, RoleSpec, panel_in

if TYPE_CHECKING:
    from kubevigil.roles.scrape.config import ScrapeSection


def import_config() -> type[ScrapeSection]:
    from kubevigil.roles.scrape.config import ScrapeSection

    return ScrapeSection


def build(section: ScrapeSection, ctx: RoleContext) -> Role:
    """Build the role; imported late so loading a config does not pull in the Kubernetes client."""
    from kubevigil.roles.scrape.role import ScrapeRole

    return ScrapeRole(section, ctx)


def rbac(section: ScrapeSection) -> list[PolicyRule]:
    """Exactly what the section uses: list+watch on pods (informers), get on pods/proxy only with `via: proxy`."""
    rules: list[PolicyRule] = [{"apiGroups": [""], "resources": ["pods"], "verbs": ["list", "watch"]}]
    if any(job.via == "proxy" for job in section.jobs):
        rules.append({"apiGroups": [""], "resources": ["pods/proxy"], "verbs": ["get"]})
    return rules


def api_access(section: ScrapeSection) -> Access:
    return Access(cluster=rbac(section))


def demo_section(sinks: DemoSinks) -> dict[str, Any]:
    """The demo's aws-node job every 10 s, scraping each pod's ipamd on its loopback pod IP (the demo cluster's
    aws-node pods serve it there and through pods/proxy)."""
    return {
        "cluster_id": "demo",
        "jobs": [{"name": "aws-node", "interval": 10, "timeout": 5, "via": "direct",
                  "breakdown": {"by": "node", "rules": ["assignIPAddresses", "totalIPAddresses"]}}],
        "sinks": [sinks.metrics],
        "prometheus_sinks": [sinks.prometheus],
    }


SPEC: RoleSpec[ScrapeSection] = RoleSpec(
    name="scrape",
    summary="Pods' Prometheus metrics aggregated to cluster level (cni-metrics-helper)",
    import_config=import_config,
    build=build,
    leader=True,  # one writer: two replicas would publish every cycle twice
    rbac=api_access,
    demo=RoleDemo(section=demo_section, links=(("scrape", "{base}/api/scrape"),)),
    # cni-metrics-helper has no file: its Deployment's variables configure `kubevigil run --role scrape`
    defaults=FromEnvironment("cni-metrics-helper"),
    panel=panel_in("kubevigil.roles.scrape.panel"),
)

__all__ = ["SPEC", "api_access", "build", "demo_section", "import_config", "rbac"]
