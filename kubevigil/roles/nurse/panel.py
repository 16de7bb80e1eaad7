"""The nurse's panel on the web page ("Network"): who reaches whom as a node x node heatmap, API server and DNS
latency per node, and the worst paths first. It reads the merged matrix every nurse serves (cached for a second)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from kubevigil.roles.nurse.role import NurseRole

WORST_SHOWN = 10
NODE_CHECKS = ("api_server_direct", "api_server_dns", "me_service", "me_ingress")


async def panel(role: NurseRole, query: Mapping[str, str]) -> dict[str, Any] | None:
    """None until this nurse has finished a round."""
    if role.latest is None:
        return None
    merged = await role.cluster_matrix()
    matrix: dict[str, dict[str, Any]] = merged["matrix"]
    sources: dict[str, dict[str, Any]] = merged["sources"]
    targets = sorted({dst for row in matrix.values() for dst in row})
    return {
        "generated_at": merged["generated_at"],
        "rows": sorted(sources),
        "columns": targets,
        "sources": sources,
        "matrix": matrix,
        "node_checks": {src: {kind: cell for kind, cell in checks.items() if kind in NODE_CHECKS}
                        for src, checks in merged["checks"].items()},
        "worst": worst_paths(matrix, sources)[:WORST_SHOWN],
    }


def worst_paths(matrix: Mapping[str, Mapping[str, Any]], sources: Mapping[str, Mapping[str, Any]]
                ) -> list[dict[str, Any]]:
    """Every path, failing ones first, then the slowest; a nurse that did not answer counts as a failing source."""
    paths = [{"from": src, "to": dst, "ok": bool(cell.get("ok")), "event": cell.get("event"),
              "status": cell.get("status"), "seconds": cell.get("seconds")}
             for src, row in matrix.items() for dst, cell in row.items()]
    paths += [{"from": src, "to": None, "ok": False, "event": f"no answer ({info.get('error') or 'unknown'})",
               "status": None, "seconds": None}
              for src, info in sources.items() if not info.get("reachable", True)]
    return sorted(paths, key=lambda p: (p["ok"], -(p["seconds"] or 0.0)))
