"""The role table: a role's config section plugs in here and nowhere else."""

from __future__ import annotations

from kubevigil.roles import checks, events, status
from kubevigil.roles.role import RoleSpec

# Roles are added here as they land; sections for roles not in this table are
# rejected at load time with a reason (see config/settings.py).
ROLES: dict[str, RoleSpec] = {
    "status": RoleSpec("status", status.StatusSection, status.build, "Cluster heartbeat to CloudWatch (kubestatus2cloudwatch)"),
    "events": RoleSpec("events", events.EventsConfig, events.build, "Kubernetes Events, routed to receivers (kubernetes-event-exporter)"),
    "checks": RoleSpec("checks", checks.ChecksSection, checks.build, "HealthCheck controller with remedies (active-monitor)"),
}

PLANNED_ROLES: tuple[str, ...] = ("status", "events", "checks", "scrape", "nurse")
