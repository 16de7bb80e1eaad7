"""`kubevigil demo` — the README's first command — runs every role against the emulator with local sinks."""

from __future__ import annotations

import json
import re
from pathlib import Path

from tests.conditions import wait_for
from tests.demo_process import start_demo
from tests.loopback import http_get


def test_demo_runs_every_role_and_shows_where_to_look(tmp_path: Path) -> None:
    out = tmp_path / "demo-out"
    proc, text = start_demo(out, 40, cwd=tmp_path)
    try:
        assert "roles:       status, events, checks" in text, text
        base = re.search(r"metrics:\s+(http://127\.0\.0\.1:\d+)/metrics", text).group(1)  # type: ignore[union-attr]
        status = wait_for(lambda: json.loads(http_get(f"{base}/status")[1]), timeout=30)
        assert any(t["state"] != "healthy" for t in status["targets"]), status  # the demo's broken workloads
        wait_for(lambda: b"kubevigil_delivery_sent_total" in http_get(f"{base}/metrics")[1])
        checks = wait_for(lambda: [c for c in json.loads(http_get(f"{base}/api/checks")[1])["checks"]
                                   if c["successCount"] or c["failedCount"]], timeout=30)
        assert {c["name"] for c in checks} <= {"inline-hello", "can-run-a-job", "dns-kuberhealthy", "web-available"}
        wait_for(lambda: (out / "events.jsonl").exists() and (out / "events.jsonl").stat().st_size > 0, timeout=30)
        line = ""
        while not line.strip():
            line = proc.stdout.readline()  # type: ignore[union-attr]
        warning = json.loads(line)
        assert set(warning) == {"warning", "object", "count", "message"}
    finally:
        proc.terminate()
        # Within Kubernetes' default 30 s grace: delivery's shutdown_grace (5 s, spent on the demo's outage sink),
        # then requests in flight get at most 5 s (the demo's unreachable nurse holds its answers for 30 s).
        proc.wait(timeout=20)
    assert proc.returncode == 0, proc.stderr.read()  # type: ignore[union-attr]
    heartbeats = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert heartbeats and {h["value"] for h in heartbeats} <= {0.0, 1.0}
    assert (out / "config.yaml").exists() and (out / "kubeconfig").exists()
