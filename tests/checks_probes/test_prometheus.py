"""The `prometheus` probe against Debian's real prometheus, scraping a local exporter with known series.

The memory query is what active-monitor's inlineMemoryRemedy example runs in a custom image (promanalysis.py with
namespace health, pod memory-demo, container memory-demo-ctr, 95 percent).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import threading
import urllib.parse
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import yaml
from pydantic import ValidationError

from kubevigil.roles.checks.probes import PROBES, ProbeEnv, PrometheusProbe
from tests.conditions import wait_for
from tests.loopback import free_port, http_get

PROMETHEUS = shutil.which("prometheus")
pytestmark = pytest.mark.skipif(PROMETHEUS is None, reason="prometheus missing: scripts/test installs Debian's prometheus")

CTR = 'namespace="health",pod="memory-demo",container="memory-demo-ctr"'
SERIES = f"""\
container_memory_working_set_bytes{{{CTR}}} 90000000
container_spec_memory_limit_bytes{{{CTR}}} 100000000
probe_test_queue_depth{{queue="a"}} 3
probe_test_queue_depth{{queue="b"}} 12
"""
MEMORY_PERCENT = (f"max(container_memory_working_set_bytes{{{CTR}}} / "
                  f"container_spec_memory_limit_bytes{{{CTR}}}) * 100")


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


@pytest.fixture(scope="module")
def prometheus(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real prometheus that has scraped SERIES at least once; yields its base URL."""
    assert PROMETHEUS is not None
    workdir = tmp_path_factory.mktemp("prometheus")
    exporter = ThreadingHTTPServer(("127.0.0.1", 0), _Exporter)
    threading.Thread(target=exporter.serve_forever, daemon=True).start()
    port = free_port()
    (workdir / "prometheus.yml").write_text(yaml.safe_dump({
        "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
        "scrape_configs": [{"job_name": "exporter",
                            "static_configs": [{"targets": [f"127.0.0.1:{exporter.server_address[1]}"]}]}],
    }))
    with open(workdir / "prometheus.log", "wb") as log:
        proc = subprocess.Popen(
            [PROMETHEUS, f"--config.file={workdir / 'prometheus.yml'}", f"--storage.tsdb.path={workdir / 'tsdb'}",
             f"--web.listen-address=127.0.0.1:{port}"], stdout=subprocess.DEVNULL, stderr=log)
    base = f"http://127.0.0.1:{port}"
    try:
        query = urllib.parse.urlencode({"query": "count(probe_test_queue_depth)"})

        def scraped() -> bool:
            assert proc.poll() is None, (workdir / "prometheus.log").read_text()[-2000:]
            status, body = http_get(f"{base}/api/v1/query?{query}")
            return status == 200 and bool(json.loads(body)["data"]["result"])

        wait_for(scraped, timeout=90, interval=0.5)
        yield base
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        exporter.shutdown()
        exporter.server_close()


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
