"""Debian's dnsmasq as a real DNS server on a loopback address and port, answering from its own config only."""

from __future__ import annotations

import shutil
import socket
import subprocess
from pathlib import Path

import dns.message
import dns.query
import dns.rdatatype

from tests.conditions import wait_for

DNSMASQ = shutil.which("dnsmasq") or ("/usr/sbin/dnsmasq" if Path("/usr/sbin/dnsmasq").exists() else None)


def free_udp_port(host: str) -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


class Dnsmasq:
    """`with Dnsmasq(dir, "127.x.y.z", {"name": "127.0.0.1"}) as dns:` serves those A records at dns.address."""

    def __init__(self, workdir: Path, host: str, records: dict[str, str]) -> None:
        self.host = host
        self.port = free_udp_port(host)
        self.conf = workdir / f"dnsmasq-{host}.conf"
        self.conf.write_text("".join(f"host-record={name},{ip}\n" for name, ip in records.items()))
        self.records = records
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    def start(self) -> Dnsmasq:
        assert DNSMASQ is not None
        self.proc = subprocess.Popen(
            [DNSMASQ, "--no-daemon", f"--port={self.port}", f"--listen-address={self.host}", "--bind-interfaces",
             "--no-resolv", "--no-hosts", "--pid-file=", f"--conf-file={self.conf}", "--user=root" if _root() else
             "--user=", "--cache-size=0"],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        name = next(iter(self.records))
        proc = self.proc
        try:
            wait_for(lambda: proc.poll() is not None or self._answers(name), timeout=20)
        except AssertionError:
            self.stop()
            raise RuntimeError("dnsmasq did not answer within 20s") from None
        if proc.poll() is not None:
            raise RuntimeError(f"dnsmasq exited: {proc.stderr.read().decode()}")  # type: ignore[union-attr]
        return self

    def _answers(self, name: str) -> bool:
        """dnsmasq answers `name` (a timeout or a refused port raises: not yet)."""
        answer = dns.query.udp(dns.message.make_query(name, dns.rdatatype.A), self.host, port=self.port, timeout=0.5)
        return bool(answer.answer)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=10)

    def __enter__(self) -> Dnsmasq:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()


def _root() -> bool:
    import os

    return os.geteuid() == 0
