"""The web page at cluster scale: time to render every panel, the page's size, and one events panel's data.

State like a large cluster's (synthetic, shaped as the roles' panel providers give it): 2,000 heartbeat targets and
6 h of verdicts every 10 s, 1,000 kept Warnings, 500 HealthChecks with 20 runs each, a 100-node who-reaches-whom
matrix, one scrape job with 6 h of cycles every 10 s, 50 informers. Prints one figure per line.
"""

from __future__ import annotations

import gzip
import time
from statistics import median
from typing import Any

from kubevigil.core.secrets import remember, scrub_value
from kubevigil.roles.events.recent import RecentWarnings
from kubevigil.web.page import section

NOW = 1_800_000_000.0
HOURS6 = 6 * 3600.0


def status() -> dict[str, Any]:
    targets = [{"id": f"Deployment/team-{i % 40}/app-{i}", "kind": "Deployment", "state": "unhealthy" if i % 97 == 0
                else "healthy", "value": 0 if i % 97 == 0 else 1, "reason": "0 of 3 replicas available" if i % 97 == 0
                else "", "since": NOW - i, "objects": 1, "stale_seconds": None} for i in range(2000)]
    history = [[NOW - HOURS6 + i * 10, 1 if (i // 90) % 5 else 0] for i in range(2160)]
    return {"metric": "ClusterHealthy", "value": 0, "published_value": 0, "published_at": NOW, "synced": True,
            "withheld": None, "targets": targets, "now": NOW, "window_seconds": HOURS6, "history": history}


def events(recent: RecentWarnings, query: dict[str, str]) -> dict[str, Any]:
    kept = recent.latest()
    chosen = [w for w in kept if all(getattr(w, k) == v for k, v in query.items())]
    reasons, objects = recent.top(NOW - 3600, 8)
    return {"now": NOW, "synced": True, "total": recent.total, "rate": [list(p) for p in recent.rate(NOW)],
            "top_reasons": [{"reason": r, "count": n} for r, n in reasons],
            "top_objects": [{"object": o, "count": n} for o, n in objects], "filters": query,
            "choices": {k: sorted({getattr(w, k) for w in kept})[:100] for k in ("namespace", "reason", "kind")},
            "matching": len(chosen),
            "latest": [{"at": w.at, "object": w.object, "reason": w.reason, "message": w.message, "count": w.count}
                       for w in chosen[:25]],
            "receivers": ["search"], "delivery": [{"sink": "search", "sent": 1e6, "failed_attempts": 3, "queued": 12,
                                                   "oldest_unsent_seconds": 2.0, "dead_letters": 0, "access_denied": 0.0,
                                                   "behind": False}]}


def checks() -> dict[str, Any]:
    runs = [{"time": NOW - i * 60, "result": "Failed" if i % 7 == 0 else "Succeeded", "duration": 2.5,
             "message": "HTTP 503 from http://svc", "run": f"wf-{i}"} for i in range(20)]
    rows = [{"group": "kubevigil.io", "namespace": f"team-{i % 40}", "name": f"check-{i}",
             "status": "Failed" if i % 50 == 0 else "Succeeded", "message": "HTTP 503" if i % 50 == 0 else "",
             "consecutive_failures": 1 if i % 50 == 0 else 0, "succeeded": 100, "failed": 3, "last_run": NOW - 30,
             "duration": 2.5, "next_run": NOW + 30, "running": None,
             "remedy": {"status": "", "runs": 0, "succeeded": 0, "failed": 0, "triggered": None, "message": ""},
             "runs": runs, "run_url": f"/api/checks/team-{i % 40}/check-{i}/run"} for i in range(500)]
    return {"now": NOW, "checks": rows, "failing": 10, "run_now": {"enabled": True, "why": ""}}


def nurse() -> dict[str, Any]:
    nodes = [f"ip-10-0-{i // 250}-{i % 250}.eu-west-1.compute.internal" for i in range(100)]
    matrix = {a: {b: {"ok": (i + j) % 211 != 0, "event": None, "status": 200, "seconds": 0.001 * ((i * j) % 900)}
                  for j, b in enumerate(nodes) if a != b} for i, a in enumerate(nodes)}
    sources = {n: {"reachable": True} for n in nodes}
    checks = {n: {"api_server_direct": {"ok": True, "seconds": 0.01}, "api_server_dns": {"ok": True, "seconds": 0.02}}
              for n in nodes}
    worst = [{"from": nodes[0], "to": nodes[1], "ok": False, "event": "timeout", "status": None, "seconds": None}] * 10
    return {"generated_at": NOW, "rows": nodes, "columns": nodes, "sources": sources, "matrix": matrix,
            "node_checks": checks, "worst": worst}


def scrape() -> dict[str, Any]:
    points = [NOW - HOURS6 + i * 10 for i in range(2160)]
    charts = [{"title": t, "series": {a: [[at, 500.0 + i % 50] for i, at in enumerate(points)],
                                      b: [[at, 900.0] for at in points]}}
              for t, a, b in (("IP addresses", "assigned", "total"), ("ENIs", "allocated", "max"),
                              ("AWS API errors per cycle", "AWS API", "EC2 API"), ("Pods scraped", "expected",
                                                                                   "scraped"))]
    job = {"name": "aws-node", "via": "direct", "interval": 10.0, "at": NOW, "expected": 100, "scraped": 100,
           "failed": 0, "partial": False, "failures": [], "values": {}, "charts": charts,
           "breakdown": [{"key": f"node-{i}", "values": {"assignIPAddresses": 5.0, "totalIPAddresses": 9.0}}
                         for i in range(50)]}
    return {"now": NOW, "window_seconds": HOURS6, "cluster_id": "prod", "jobs": [job]}


def process() -> dict[str, Any]:
    return {"now": NOW, "version": "0", "cluster": "prod", "pod": {"name": "kv-0", "namespace": "kv", "node": "n"},
            "started_at": NOW - 3600, "ready": True,
            "parts": [{"name": f"role:{r}", "ok": True, "detail": ""} for r in ("status", "events", "checks")],
            "leader_election": {"lease": "kv/kubevigil", "identity": "kv-0", "leading": True, "holder": "kv-0",
                                "error": None},
            "informers": [{"name": f"informer-{i}", "watch": "pods", "subscribers": 1, "synced": True,
                           "objects": 1000, "stale_seconds": 0.5, "error": None, "handler_errors": 0}
                          for i in range(50)], "delivery": []}


def main() -> None:
    recent = RecentWarnings()
    for i in range(5000):
        recent.add(NOW - 3600 + i * 0.72, {"reason": f"Reason{i % 30}", "message": "Back-off restarting " * 10,
                                           "count": i, "type": "Warning", "involvedObject": {
                                               "kind": "Pod", "namespace": f"team-{i % 40}", "name": f"pod-{i % 300}"}})
    data = {"status": status(), "checks": checks(), "scrape": scrape(), "nurse": nurse(), "process": process()}
    times, size, zipped = [], 0, 0
    for _ in range(7):
        started = time.perf_counter()
        html = [section(name, d, {}, NOW) for name, d in data.items()]
        html.append(section("events", events(recent, {"namespace": "team-3"}), {"namespace": "team-3"}, NOW))
        times.append(time.perf_counter() - started)
        size = sum(len(h.encode()) for h in html)
        zipped = sum(len(gzip.compress(h.encode(), 6)) for h in html)
    remember([f"secret-token-{i:04d}-value" for i in range(50)])  # a config's worth of secrets
    masking = []
    for _ in range(7):
        started = time.perf_counter()
        for d in data.values():
            scrub_value(d)
        masking.append(time.perf_counter() - started)
    each = {}
    for name, d in data.items():
        started = time.perf_counter()
        section(name, d, {}, NOW)
        each[name] = time.perf_counter() - started
    print(f"whole page, every panel rendered (median of 7): {median(times) * 1000:.0f} ms")
    print(f"every panel's data scrubbed of secrets (50 remembered, median of 7): {median(masking) * 1000:.0f} ms")
    print(f"page size: {size / 1024:.0f} KiB, {zipped / 1024:.0f} KiB gzipped (what a browser receives)")
    print("per panel: " + ", ".join(f"{k} {v * 1000:.0f} ms" for k, v in each.items()))


if __name__ == "__main__":
    main()
