"""The syslog sink against Debian's rsyslog: what rsyslog parsed and wrote to its own file is what was sent."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from kubevigil.catalog import load
from tests.conditions import eventually
from tests.sinks_http.conftest import event
from tests.sinks_http.rsyslog import RSYSLOGD, Rsyslog, start_rsyslog

pytestmark = pytest.mark.skipif(shutil.which(RSYSLOGD) is None, reason="rsyslogd missing: scripts/test installs it")


@pytest.fixture
def rsyslog(tmp_path: Path) -> Iterator[Rsyslog]:
    server = start_rsyslog(tmp_path / "rsyslog")
    yield server
    server.stop()


async def test_tcp_octet_counting_reaches_rsyslog_intact(build, rsyslog: Rsyslog) -> None:
    sink = build("syslog", address=f"127.0.0.1:{rsyslog.tcp_port}", tag="k8s.event")
    multiline = event(2, message="first line\nsecond line")
    assert await sink.send([event(0), event(1, type="Normal", reason="Pulled"), multiline]) == []
    await sink.close()
    await eventually(lambda: len(rsyslog.lines()) >= 3, timeout=30, state=rsyslog.lines)
    first, second, third = rsyslog.lines()
    assert first[:5] == ["prod-eks", "k8s.event", "BackOff", "local0", "warning"]
    assert second[:5] == ["prod-eks", "k8s.event", "Pulled", "local0", "info"]
    assert json.loads(first[5]) == event(0).body
    assert json.loads(third[5])["message"] == "first line\nsecond line"


async def test_udp_one_datagram_per_message_reaches_rsyslog(build, rsyslog: Rsyslog) -> None:
    sink = build("syslog", address=f"127.0.0.1:{rsyslog.udp_port}", network="udp", facility="daemon")
    assert await sink.send([event(0), event(1)]) == []
    await sink.close()
    await eventually(lambda: len(rsyslog.lines()) >= 2, timeout=30, state=rsyslog.lines)
    assert [line[:5] for line in rsyslog.lines()] == [["prod-eks", "kubevigil", "BackOff", "daemon", "warning"]] * 2
    assert [json.loads(line[5])["metadata"]["uid"] for line in rsyslog.lines()] == ["uid-0", "uid-1"]


async def test_an_imported_event_exporter_syslog_receiver_reaches_rsyslog(tmp_path: Path, rsyslog: Rsyslog) -> None:
    from prometheus_client import CollectorRegistry

    from kubevigil.sinks.registry import SINKS
    from kubevigil.sinks.sink import SinkContext

    path = tmp_path / "config.yaml"  # the README's syslog receiver, pointed at this rsyslog
    path.write_text(f'receivers:\n  - name: "syslog"\n    syslog:\n      network: "tcp"\n'
                    f'      address: "127.0.0.1:{rsyslog.tcp_port}"\n      tag: "k8s.event"\n')
    params = load(path, environ={}).settings.sinks["syslog"].params
    ctx = SinkContext(name="syslog", cluster_name="c1", state_dir=tmp_path, registry=CollectorRegistry())
    sink = SINKS["syslog"].build(params, ctx)
    assert await sink.send([event(0)]) == []
    await sink.close()
    await eventually(lambda: len(rsyslog.lines()) >= 1, timeout=30, state=rsyslog.lines)
    [line] = rsyslog.lines()
    assert line[:3] == ["c1", "k8s.event", "BackOff"] and json.loads(line[5])["reason"] == "BackOff"
