"""Config loading time for a 1 MB and a ~10 MB file (native and event-exporter), in process and through the CLI.

Prints one figure per line: seconds for load() (parse, translate, validate), for what check-config then prints
(normalized view + YAML), and the wall time of `kubevigil check-config` (including Python start and imports).
Usage: .venv/bin/python bench/config_load.py [--repeat N]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from kubevigil.catalog import load
from kubevigil.config import normalized
from kubevigil.config.views import as_yaml

TARGET = "    - {{kind: Deployment, namespace: ns-{i}, name: app-{i}, mode: AllOfThem}}\n"
RECEIVER = ("  - name: r{i}\n    webhook: {{endpoint: 'http://127.0.0.1:{port}/x', layout: {{m: '{{{{ .Message }}}}'}}}}\n")
ROUTE = "    - match: [{{receiver: r{i}, namespace: 'ns-{i}'}}]\n"


def native(size: int) -> str:
    head = "sinks:\n  cw: {cloudwatch: {namespace: EKS/Health}}\nstatus:\n  metric: {name: H}\n  sinks: [cw]\n  targets:\n"
    return head + _repeat(TARGET, size - len(head))


def event_exporter(size: int) -> str:
    routes = _repeat(ROUTE, size // 3)
    n = routes.count("\n")
    receivers = "".join(RECEIVER.format(i=i, port=1000 + i % 60000) for i in range(n))
    return "route:\n  routes:\n" + routes + "receivers:\n" + receivers


def _repeat(template: str, size: int) -> str:
    parts, total, i = [], 0, 0
    while total < size:
        line = template.format(i=i)
        parts.append(line)
        total += len(line)
        i += 1
    return "".join(parts)


def best(repeat: int, run: Callable[[], object]) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=3, help="runs per figure; the best is printed (default 3)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        for label, text in (("native 1 MB", native(1_000_000)), ("native 10 MB", native(10_000_000)),
                            ("event-exporter 1 MB", event_exporter(1_000_000))):
            path = Path(tmp) / "config.yaml"
            path.write_text(text)
            size = f"{path.stat().st_size / 1e6:.2f} MB"
            loaded = load(path, environ={})
            print(f"{label} ({size}): load {best(args.repeat, lambda p=path: load(p, environ={})):.2f} s")
            view = best(args.repeat, lambda s=loaded.settings: as_yaml(normalized(s)))
            print(f"{label} ({size}): normalized view + YAML {view:.2f} s")
            cli = best(args.repeat, lambda p=path: subprocess.run(
                [sys.executable, "-m", "kubevigil.cli", "check-config", str(p)], capture_output=True, check=True))
            print(f"{label} ({size}): kubevigil check-config wall time {cli:.2f} s")
        empty = Path(tmp) / "empty.yaml"
        empty.write_text("sinks: {}\n")
        start_only = best(args.repeat, lambda: subprocess.run(
            [sys.executable, "-m", "kubevigil.cli", "check-config", str(empty)], capture_output=True, check=True))
        print(f"kubevigil check-config of a one-line file (Python start + imports) {start_only:.2f} s")


if __name__ == "__main__":
    main()
