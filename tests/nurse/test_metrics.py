"""kubenurse's metric names, labels and buckets; VictoriaMetrics histograms; series of departed checks dropped."""

from __future__ import annotations

import shutil
import subprocess

import pytest
from prometheus_client import CollectorRegistry, generate_latest

from kubevigil.roles.nurse.metrics import NurseMetrics, VmHistogram
from kubevigil.roles.nurse.probe import Outcome

PROMTOOL = shutil.which("promtool")


def ok(kind: str, seconds: float = 0.003) -> Outcome:
    phases = (("connect_start", 0.0001), ("connect_done", 0.0004), ("got_conn", 0.0005),
              ("wrote_request", 0.0006), ("got_first_resp_byte", seconds))
    return Outcome(kind, True, 200, None, seconds, phases, "ok")


def failed(kind: str, event: str) -> Outcome:
    return Outcome(kind, False, None, event, None, (("connect_start", 0.0001),), f"{event}: x")


def exposition(metrics: NurseMetrics) -> str:
    registry = CollectorRegistry()
    registry.register(metrics)
    return generate_latest(registry).decode()


def test_names_labels_and_default_buckets() -> None:
    m = NurseMetrics(None, False, lambda: 3)
    m.observe(ok("path_n1"))
    m.observe(failed("path_n2", "refused"))
    m.observe(Outcome("me_ingress", False, 503, "status_code_503", 0.01, (), "503 Service Unavailable"))
    text = exposition(m)
    assert 'kubenurse_httpclient_request_duration_seconds_bucket{le="0.005",type="path_n1"} 1.0' in text
    assert 'kubenurse_httpclient_request_duration_seconds_bucket{le="10.0",type="path_n1"} 1.0' in text
    assert 'kubenurse_httpclient_request_duration_seconds_bucket{le="+Inf",type="path_n1"} 1.0' in text
    assert 'kubenurse_httpclient_trace_request_duration_seconds_count{event="connect_done",type="path_n1"} 1.0' in text
    assert 'kubenurse_httpclient_requests_total{code="200",type="path_n1"} 1.0' in text
    assert 'kubenurse_httpclient_requests_total{code="round_trip_error",type="path_n2"} 1.0' in text
    assert 'kubenurse_httpclient_requests_total{code="503",type="me_ingress"} 1.0' in text
    assert 'kubenurse_errors_total{event="refused",type="path_n2"} 1.0' in text
    assert 'kubenurse_errors_total{event="status_code_503",type="me_ingress"} 1.0' in text
    assert "kubenurse_neighbourhood_incoming_checks 3.0" in text
    assert 'type="path_n2"' not in text.split("kubenurse_httpclient_request_duration_seconds_count")[1].split("\n")[0]


def test_custom_buckets() -> None:
    m = NurseMetrics([0.001, 0.01], False, lambda: 0)
    m.observe(ok("x", 0.005))
    text = exposition(m)
    assert 'le="0.001",type="x"} 0.0' in text and 'le="0.01",type="x"} 1.0' in text and 'le="0.005"' not in text


def test_forget_drops_every_series_of_a_type() -> None:
    m = NurseMetrics(None, False, lambda: 0)
    m.observe(ok("path_gone"))
    m.observe(failed("path_gone", "timeout"))
    m.observe(ok("path_kept"))
    m.forget({"path_gone"})
    text = exposition(m)
    assert "path_gone" not in text and "path_kept" in text
    assert m.check_types() == {"path_kept"}


def test_victoriametrics_ranges_match_its_text() -> None:
    h = VmHistogram()
    for v in (0.0, 0.001, 0.0015, 1.0, 1e20):
        h.observe(v)
    ranges = dict(h.ranges())
    # 10^n belongs to the bucket below it; labels are VictoriaMetrics' "%.3e...%.3e"
    assert ranges == {"0...1.000e-09": 1, "8.799e-04...1.000e-03": 1, "1.468e-03...1.668e-03": 1,
                      "8.799e-01...1.000e+00": 1, "1.000e+18...+Inf": 1}
    assert h.total == 5


@pytest.mark.skipif(PROMTOOL is None, reason="promtool missing: scripts/test installs Debian's prometheus")
@pytest.mark.parametrize("victoriametrics", [False, True])
def test_promtool_accepts_the_exposition(victoriametrics: bool) -> None:
    m = NurseMetrics(None, victoriametrics, lambda: 1)
    for kind in ("api_server_direct", "path_n1"):
        m.observe(ok(kind))
    m.observe(failed("path_n2", "timeout"))
    text = exposition(m)
    if victoriametrics:
        assert 'vmrange="2.783e-03...3.162e-03"' in text
    assert PROMTOOL is not None
    result = subprocess.run([PROMTOOL, "check", "metrics"], input=text.encode(), capture_output=True, timeout=60,
                            check=False)
    assert result.returncode == 0, result.stdout.decode() + result.stderr.decode()
