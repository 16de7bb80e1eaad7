"""The API access an `events:` section needs: its watch, the enrichment GETs, the checkpoint ConfigMap."""

from __future__ import annotations

from typing import TYPE_CHECKING

from kubevigil.roles.rbac import OWN_NAMESPACE, Access, PolicyRule

if TYPE_CHECKING:
    from kubevigil.roles.events.config import EventsConfig

# The kinds enrichment reads: involved objects and their owners up the chain (Pod -> ReplicaSet -> Deployment,
# Job -> CronJob). An object of another kind, or one kubevigil may not read, is exported without enrichment.
ENRICHED: dict[str, list[str]] = {
    "": ["nodes", "persistentvolumeclaims", "pods", "services"],
    "apps": ["daemonsets", "deployments", "replicasets", "statefulsets"],
    "autoscaling": ["horizontalpodautoscalers"],
    "batch": ["cronjobs", "jobs"],
}


def api_access(cfg: EventsConfig) -> Access:
    """list + watch on the Events of the configured API, get on what enrichment reads, and in the process's own
    namespace the checkpoint ConfigMap (`checkpoint: configmap`)."""
    group = "" if cfg.api == "core" else "events.k8s.io"
    cluster: list[PolicyRule] = [{"apiGroups": [group], "resources": ["events"], "verbs": ["list", "watch"]}]
    if cfg.enrichment.enabled:
        cluster += [{"apiGroups": [g], "resources": list(r), "verbs": ["get"]} for g, r in ENRICHED.items()]
    namespaced: dict[str, list[PolicyRule]] = {}
    if cfg.checkpoint == "configmap":
        namespaced[OWN_NAMESPACE] = [
            {"apiGroups": [""], "resources": ["configmaps"], "verbs": ["create"]},
            {"apiGroups": [""], "resources": ["configmaps"], "resourceNames": [cfg.checkpoint_configmap],
             "verbs": ["get", "update"]}]
    return Access(cluster, namespaced)
