"""The `status:` section `kubevigil demo` runs: the demo cluster's monitoring plus one broken shop workload."""

from __future__ import annotations

from typing import Any


def demo_section(sink_names: list[str]) -> dict[str, Any]:
    """Native config for the demo; `shop/checkout` crash-loops, so the heartbeat is 0 once it has started."""
    return {
        "seconds": 10,
        "publish_on_change": True,
        "per_target": True,
        "metric": {"name": "ClusterHealthy", "unit": "None"},
        "targets": [
            {"kind": "StatefulSet", "namespace": "monitoring", "name": "prometheus"},
            {"kind": "Deployment", "namespace": "monitoring", "name": "grafana"},
            {"kind": "Deployment", "namespace": "kube-system", "name": "coredns"},
            {"kind": "DaemonSet", "namespace": "kube-system", "name": "aws-node"},
            {"kind": "Deployment", "namespace": "shop", "selector": "app.kubernetes.io/name in (frontend,cart)",
             "id": "shop-core"},
            {"kind": "Deployment", "namespace": "shop", "name": "checkout"},
            {"kind": "Node", "mode": {"Percent": 66}},
        ],
        "sinks": list(sink_names),
    }
