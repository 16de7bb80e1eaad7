"""The `prometheus` probe against Debian's real prometheus, scraping a local exporter with known series.

The memory query is what active-monitor's inlineMemoryRemedy example runs in a custom image (promanalysis.py with
namespace health, pod memory-demo, container memory-demo-ctr, 95 percent).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from pydantic import ValidationError

from kubevigil.roles.checks.probes import PROBES, ProbeEnv, PrometheusProbe
from tests.checks_probes import peers
from tests.checks_probes.peers import MEMORY_PERCENT
from tests.loopback import free_port
from tests.prometheus_server import PROMETHEUS

pytestmark = pytest.mark.skipif(PROMETHEUS is None, reason="prometheus missing: scripts/test installs Debian's prometheus")


@pytest.fixture(scope="module")
def prometheus(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real prometheus that has scraped the exporter's series at least once; yields its base URL."""
    with peers.prometheus(tmp_path_factory.mktemp("prometheus")) as base:
        yield base


def probe(url: str, **params: object) -> PrometheusProbe:
    spec = PROBES["prometheus"].model_validate({"url": url, **params})
    assert isinstance(spec, PrometheusProbe)
    return spec


async def test_memory_remedy_query_under_the_threshold(env: ProbeEnv, prometheus: str) -> None:
    result = await probe(prometheus, query=MEMORY_PERCENT, op="<", threshold=95).run(env, timeout=20)
    assert result.ok, result.message
    assert result.message.endswith(": 90")
    assert result.values == {"value": 90.0, "samples": 1.0}


async def test_memory_over_the_threshold_fails_with_the_value(env: ProbeEnv, prometheus: str) -> None:
    result = await probe(prometheus, query=MEMORY_PERCENT, op="<", threshold=80).run(env, timeout=20)
    assert not result.ok
    assert result.message.endswith(": mismatch: 90, expected < 80")
    assert result.values["value"] == 90


async def test_every_sample_must_pass_and_the_first_failing_one_is_named(env: ProbeEnv, prometheus: str) -> None:
    result = await probe(prometheus, query="probe_test_queue_depth", op="<", threshold=10).run(env, timeout=20)
    assert not result.ok
    assert 'queue="b"} = 12, expected < 10 (1 of 2 samples)' in result.message
    ok = await probe(prometheus, query="probe_test_queue_depth", op="<=", threshold=12).run(env, timeout=20)
    assert ok.ok and ok.message.endswith(": all 2 samples <= 12")


async def test_scalar_result(env: ProbeEnv, prometheus: str) -> None:
    result = await probe(prometheus, query="scalar(sum(probe_test_queue_depth))", op="==", threshold=15).run(env, 20)
    assert result.ok, result.message


async def test_empty_result_is_ok_or_fail_as_configured(env: ProbeEnv, prometheus: str) -> None:
    failing = await probe(prometheus, query="probe_test_no_such_series", op=">", threshold=0).run(env, 20)
    assert not failing.ok and failing.message.endswith(": the query returned no sample")
    passing = await probe(prometheus, query="probe_test_no_such_series", op=">", threshold=0,
                          on_empty="ok").run(env, 20)
    assert passing.ok


async def test_nan_passes_no_comparison(env: ProbeEnv, prometheus: str) -> None:
    result = await probe(prometheus, query="scalar(vector(0) / 0)", op="!=", threshold=1).run(env, 20)
    assert not result.ok and result.message.endswith("mismatch: NaN, expected != 1")


async def test_bad_query_and_range_result(env: ProbeEnv, prometheus: str) -> None:
    bad = await probe(prometheus, query="sum(", op="<", threshold=1).run(env, timeout=20)
    assert not bad.ok and ": prometheus: http 400: bad_data: " in bad.message
    matrix = await probe(prometheus, query="probe_test_queue_depth[1m]", op="<", threshold=1).run(env, timeout=20)
    assert not matrix.ok and matrix.message.endswith("prometheus: the query returned a matrix; "
                                                     "use an expression giving an instant vector or scalar")


async def test_unreachable_prometheus(env: ProbeEnv) -> None:
    port = free_port()
    result = await probe(f"http://127.0.0.1:{port}", query="up", op="==", threshold=1).run(env, 10)
    assert not result.ok and result.message.endswith(": refused: connection refused")


def test_bad_params() -> None:
    with pytest.raises(ValidationError, match="Input should be"):
        PROBES["prometheus"].model_validate({"url": "http://p:9090", "query": "up", "op": "=~", "threshold": 1})
    with pytest.raises(ValidationError, match="Field required"):
        PROBES["prometheus"].model_validate({"url": "http://p:9090", "query": "up", "op": "<"})
