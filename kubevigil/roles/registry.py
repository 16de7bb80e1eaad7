"""The role table: a role's config section plugs in here and nowhere else."""

from __future__ import annotations

from kubevigil.roles import checks, events, nurse, scrape, status
from kubevigil.roles.role import RoleSpec

# Roles are added here as they land; sections for roles not in this table are
# rejected at load time with a reason (see config/settings.py).
ROLES: dict[str, RoleSpec] = {
    "status": RoleSpec("status", status.StatusSection, status.build, "Cluster heartbeat to CloudWatch (kubestatus2cloudwatch)"),
    "events": RoleSpec("events", events.EventsConfig, events.build, "Kubernetes Events, routed to receivers (kubernetes-event-exporter)"),
    "checks": RoleSpec("checks", checks.ChecksSection, checks.build, "HealthCheck controller with remedies (active-monitor)"),
    "scrape": RoleSpec("scrape", scrape.ScrapeSection, scrape.build, "Pods' Prometheus metrics aggregated to cluster level (cni-metrics-helper)"),
    "nurse": RoleSpec("nurse", nurse.NurseSection, nurse.build, "Network probing from every node: API server, Service, Ingress, neighbours (kubenurse)"),
}

PLANNED_ROLES: tuple[str, ...] = ("status", "events", "checks", "scrape", "nurse")
