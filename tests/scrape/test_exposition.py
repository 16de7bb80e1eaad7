"""Scrapes are read by prometheus_client's parsers: ipamd's text, OpenMetrics, NaN, missing metadata, garbage."""

from __future__ import annotations

import math

import pytest

from kubevigil.roles.scrape.exposition import ExpositionError, Wanted, parse
from kubevigil.roles.scrape.presets import CNI_METRICS_HELPER
from tests.anchors import ANCHORS

CNI = Wanted.of(r.metric for r in CNI_METRICS_HELPER)
SAMPLE = (ANCHORS / "cni-metrics-helper" / "ipamd-metrics-sample.txt").read_bytes()


def test_ipamd_sample_yields_the_wanted_families_only() -> None:
    families = parse(SAMPLE, "text/plain; version=0.0.4", CNI)
    assert "go_goroutines" not in families
    assert families["awscni_total_ip_addresses"].type == "gauge"
    assert families["awscni_total_ip_addresses"].samples[0].value == 10
    latency = families["awscni_aws_api_latency_ms"]
    assert latency.type == "summary"
    nans = [s for s in latency.samples if s.labels.get("quantile") and math.isnan(s.value)]
    assert len(nans) == 3 * 10  # every series but GetMetadata
    counts = {s.labels["fn"]: s.value for s in families["awscni_ec2api_req_count"].samples}
    assert counts["DescribeNetworkInterfaces"] == 13


def test_missing_help_and_type_and_counter_total_names() -> None:
    body = b"plain_gauge 3\nreqs_total{code=\"200\"} 7\n# TYPE typed_total counter\ntyped_total 2\n"
    families = parse(body, "text/plain", Wanted.of(["plain_gauge", "reqs_total", "typed_total"]))
    assert families["plain_gauge"].type == "unknown" and families["plain_gauge"].samples[0].value == 3
    assert families["reqs_total"].samples[0].labels == {"code": "200"}
    assert families["typed_total"].type == "counter" and families["typed_total"].samples[0].value == 2


def test_openmetrics_by_content_type() -> None:
    body = (b"# TYPE coredns_dns_requests counter\n"
            b"coredns_dns_requests_total{server=\"dns://:53\"} 12\n"
            b"coredns_dns_requests_created{server=\"dns://:53\"} 1.7e9\n# EOF\n")
    families = parse(body, "application/openmetrics-text; version=1.0.0", Wanted.of(["coredns_dns_requests_total"]))
    samples = families["coredns_dns_requests_total"].samples
    assert [(s.name, s.value) for s in samples if s.name.endswith("_total")] == [("coredns_dns_requests_total", 12)]


@pytest.mark.parametrize("body", [b"<html><body>502 Bad Gateway</body></html>", b"hello world\n",
                                  b"awscni_eni_max{broken 3\n", b"awscni_eni_max three\n", b"\xff\xfe\x00"])
def test_garbage_is_an_error(body: bytes) -> None:
    with pytest.raises(ExpositionError):
        parse(body, "text/plain", CNI)


def test_openmetrics_without_eof_is_an_error() -> None:
    with pytest.raises(ExpositionError):
        parse(b"# TYPE a gauge\na 1\n", "application/openmetrics-text", Wanted.of(["a"]))
