"""What masking secrets costs the outputs: one /metrics answer, one log line, with a config's secrets remembered.

Every answer of the server and every log line pass through `core.secrets.scrub`. Prints one figure per line:
milliseconds to scrub a /metrics body of about 80 KB, and microseconds per JSON log line (with and without a URL).
Usage: .venv/bin/python bench/secrets_scrub.py [--secrets N]
"""

from __future__ import annotations

import argparse
import hashlib
import time
from collections.abc import Callable

from prometheus_client import CollectorRegistry, Gauge, generate_latest

from kubevigil.core.secrets import remember, scrub


def metrics_body() -> str:
    """About 80 KB of exposition: 1,000 series with a few labels, some of them URLs (as informer labels are)."""
    registry = CollectorRegistry()
    gauge = Gauge("kubevigil_informer_stale_seconds", "seconds since heard", ["informer", "server"], registry=registry)
    for n in range(1000):
        gauge.labels(f"status:Deployment:ns-{n}:*", f"https://10.0.{n % 250}.1:443").set(n)
    return generate_latest(registry).decode()


def per_call(fn: Callable[[], object], repeat: int) -> float:
    started = time.perf_counter()
    for _ in range(repeat):
        fn()
    return (time.perf_counter() - started) / repeat


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--secrets", type=int, default=50, help="secret values the config holds (default 50)")
    args = parser.parse_args()
    # random-looking values, as tokens are: no shared prefix for the regex engine to skip on
    remember([hashlib.sha256(str(n).encode()).hexdigest()[: 12 + n % 30] for n in range(args.secrets)],
             [("hooks.example.com", 443)])
    body = metrics_body()
    plain = ('{"sink": "search", "error": "search unreachable: ConnectionError: Connection refused", '
             '"event": "sink failing, retrying", "level": "warning", "timestamp": "2026-11-30T00:00:00Z"}')
    with_url = plain.replace("Connection refused", "POST https://u:p@search.example:443/_bulk refused")
    print(f"/metrics body of {len(body) / 1000:.0f} KB, {args.secrets} secrets: "
          f"{per_call(lambda: scrub(body), 50) * 1000:.2f} ms per scrub")
    print(f"log line without a URL: {per_call(lambda: scrub(plain), 20000) * 1e6:.1f} µs")
    print(f"log line with a URL: {per_call(lambda: scrub(with_url), 20000) * 1e6:.1f} µs")


if __name__ == "__main__":
    main()
