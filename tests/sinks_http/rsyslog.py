"""Debian's rsyslogd, started by a test with its own config on loopback ports, writing what it parsed to a file."""

from __future__ import annotations

import shutil
import socket
import subprocess
from dataclasses import dataclass
from pathlib import Path

from tests.conditions import wait_for

RSYSLOGD = shutil.which("rsyslogd") or "/usr/sbin/rsyslogd"
# One line per message: the RFC 5424 fields as rsyslog parsed them, then the message text.
FIELDS = "%hostname%|%app-name%|%msgid%|%syslogfacility-text%|%syslogseverity-text%|%msg%\\n"

CONFIG = """\
global(workDirectory="{work}")
module(load="imtcp")
module(load="imudp")
template(name="fields" type="string" string="{fields}")
input(type="imtcp" address="127.0.0.1" port="0" listenPortFileName="{work}/tcp.port" ruleset="out")
input(type="imudp" address="127.0.0.1" port="{udp_port}" ruleset="out")
ruleset(name="out") {{ action(type="omfile" file="{work}/messages.log" template="fields") }}
"""


@dataclass
class Rsyslog:
    """A running rsyslogd: TCP (octet-counted or newline framing) on `tcp_port`, UDP on `udp_port`."""

    work: Path
    process: subprocess.Popen[bytes]
    tcp_port: int
    udp_port: int

    def lines(self) -> list[list[str]]:
        """What rsyslog wrote so far: per message [hostname, app-name, msgid, facility, severity, msg]."""
        path = self.work / "messages.log"
        text = path.read_text() if path.exists() else ""
        return [line.split("|", 5) for line in text.splitlines()]

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def start_rsyslog(work: Path) -> Rsyslog:
    """Start rsyslogd in the foreground with its own config under `work`; return once its TCP port is known."""
    work.mkdir(parents=True, exist_ok=True)
    udp_port = _free_udp_port()
    config = work / "rsyslog.conf"
    config.write_text(CONFIG.format(work=work, fields=FIELDS, udp_port=udp_port))
    process = subprocess.Popen([RSYSLOGD, "-n", "-f", str(config), "-i", str(work / "rsyslogd.pid")],
                               stdout=subprocess.DEVNULL, stderr=(work / "rsyslogd.err").open("wb"))
    port_file = work / "tcp.port"
    try:
        wait_for(lambda: process.poll() is not None or (port_file.exists() and port_file.read_text().strip()), 30)
    except AssertionError:
        process.kill()
        raise
    if process.poll() is not None:
        raise AssertionError(f"rsyslogd exited {process.returncode}: {(work / 'rsyslogd.err').read_text()}")
    return Rsyslog(work, process, int(port_file.read_text()), udp_port)


def _free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])
