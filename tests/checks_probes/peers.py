"""Real peers nobody here wrote, on loopback: Debian's dnsmasq serving fixed records, Debian's prometheus scraping
a local exporter with known series. Used by the probe tests and by the checks role's end-to-end tests."""

from __future__ import annotations

import shutil
import socket
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import dns.resolver

from tests.conditions import wait_for
from tests.prometheus_server import prometheus as real_prometheus

DNSMASQ = shutil.which("dnsmasq") or shutil.which("dnsmasq", path="/usr/sbin:/sbin")

RECORDS = """\
local=/probe.test/
host-record=web.probe.test,127.0.0.10,::1
host-record=multi.probe.test,127.0.0.11
host-record=multi.probe.test,127.0.0.12
cname=alias.probe.test,web.probe.test
srv-host=_http._tcp.probe.test,web.probe.test,8080,10,5
txt-record=txt.probe.test,"v=probe1 ok"
"""

CTR = 'namespace="health",pod="memory-demo",container="memory-demo-ctr"'
SERIES = f"""\
container_memory_working_set_bytes{{{CTR}}} 90000000
container_spec_memory_limit_bytes{{{CTR}}} 100000000
probe_test_queue_depth{{queue="a"}} 3
probe_test_queue_depth{{queue="b"}} 12
"""
# What active-monitor's inlineMemoryRemedy example runs in a custom image (promanalysis.py, 95 percent).
MEMORY_PERCENT = (f"max(container_memory_working_set_bytes{{{CTR}}} / "
                  f"container_spec_memory_limit_bytes{{{CTR}}}) * 100")


def _free_udp_and_tcp_port() -> int:
    """A port free for both UDP and TCP (dnsmasq serves both); an ephemeral UDP port may be taken for TCP."""
    for _ in range(100):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
            udp.bind(("127.0.0.1", 0))
            port = int(udp.getsockname()[1])
            with socket.socket() as tcp:
                try:
                    tcp.bind(("127.0.0.1", port))
                except OSError:
                    continue
        return port
    raise AssertionError("no port free for both UDP and TCP")


@contextmanager
def dnsmasq(workdir: Path) -> Iterator[str]:
    """A running dnsmasq with RECORDS and nothing else (no upstream, no hosts file); yields "127.0.0.1:port"."""
    assert DNSMASQ is not None, "dnsmasq missing: scripts/test installs Debian's dnsmasq-base"
    port = _free_udp_and_tcp_port()
    conf = workdir / "dnsmasq.conf"
    conf.write_text(f"port={port}\nlisten-address=127.0.0.1\nbind-interfaces\nno-resolv\nno-hosts\nno-poll\n"
                    f"pid-file=\nuser=\nlog-facility=-\n{RECORDS}")
    with open(workdir / "dnsmasq.log", "wb") as log:
        proc = subprocess.Popen([DNSMASQ, "--no-daemon", f"--conf-file={conf}"], stdout=log, stderr=subprocess.STDOUT)
    try:
        resolver = dns.resolver.Resolver(configure=False)
        resolver.nameservers, resolver.port, resolver.lifetime = ["127.0.0.1"], port, 1.0

        def answers() -> bool:
            assert proc.poll() is None, (workdir / "dnsmasq.log").read_text()
            return bool(resolver.resolve("web.probe.test", "A"))

        wait_for(answers, timeout=30, interval=0.2)
        yield f"127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(timeout=30)


class _Exporter(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = SERIES.encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/plain; version=0.0.4")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@contextmanager
def prometheus(workdir: Path) -> Iterator[str]:
    """A real prometheus that has scraped SERIES at least once; yields its base URL."""
    exporter = ThreadingHTTPServer(("127.0.0.1", 0), _Exporter)
    threading.Thread(target=exporter.serve_forever, daemon=True).start()
    try:
        with real_prometheus(workdir, f"127.0.0.1:{exporter.server_address[1]}") as server:
            wait_for(lambda: bool(server.query("count(probe_test_queue_depth)")), timeout=90, interval=0.5)
            yield server.base
    finally:
        exporter.shutdown()
        exporter.server_close()
