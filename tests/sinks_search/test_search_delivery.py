"""Search sink behind durable delivery: an outage fills the journal, recovery drains it, each document once."""

from __future__ import annotations

from pathlib import Path

from prometheus_client import CollectorRegistry

from kubevigil.core.clock import SystemClock
from kubevigil.delivery.delivery import Delivery
from kubevigil.delivery.settings import DeliveryParams
from kubevigil.sinks.registry import SINKS
from kubevigil.sinks.sink import SinkContext
from tests.conditions import eventually
from tests.fakes.search_server import FakeSearchServer
from tests.sinks_search.test_search_sinks import records


async def test_outage_then_recovery_delivers_every_event_once(tmp_path: Path) -> None:
    with FakeSearchServer("opensearch") as search:
        registry = CollectorRegistry()
        ctx = SinkContext(name="search", cluster_name="t", state_dir=tmp_path, registry=registry)
        spec = SINKS["opensearch"]
        sink = spec.build(spec.params(hosts=[search.url], max_bulk_items=50), ctx)
        params = DeliveryParams(retry_base=0.05, retry_cap=0.2, batch_max_age=0.05)
        delivery = Delivery({"search": (sink, params)}, state_dir=tmp_path, clock=SystemClock(), registry=registry)
        await delivery.start()
        search.state.down = True
        await delivery.outlets["search"].put(records(300))
        failed = lambda: registry.get_sample_value("kubevigil_delivery_failed_total", {"sink": "search"}) or 0  # noqa: E731
        await eventually(lambda: failed() >= 3)  # it kept trying while the cluster was down
        assert search.state.count() == 0
        assert registry.get_sample_value("kubevigil_delivery_queue_depth", {"sink": "search"}) == 300
        search.state.down = False
        await eventually(lambda: search.state.count() == 300)
        await delivery.shutdown(5)
    assert search.state.writes == 300
    assert registry.get_sample_value("kubevigil_delivery_sent_total", {"sink": "search"}) == 300
    assert registry.get_sample_value("kubevigil_delivery_retried_total", {"sink": "search"}) >= 1


async def test_per_item_rejections_are_dead_lettered_and_the_rest_delivered(tmp_path: Path) -> None:
    with FakeSearchServer("elasticsearch") as search:
        search.state.item_fault = lambda _i, doc_id, _d: (400, "mapper_parsing_exception") if doc_id == "uid-3-1" else None
        registry = CollectorRegistry()
        ctx = SinkContext(name="es", cluster_name="t", state_dir=tmp_path, registry=registry)
        spec = SINKS["elasticsearch"]
        sink = spec.build(spec.params(hosts=[search.url]), ctx)
        delivery = Delivery({"es": (sink, DeliveryParams(batch_max_age=0.05))}, state_dir=tmp_path,
                            clock=SystemClock(), registry=registry)
        await delivery.start()
        await delivery.outlets["es"].put(records(10))
        await eventually(lambda: registry.get_sample_value("kubevigil_delivery_dead_lettered_total", {"sink": "es"}) == 1)
        await delivery.shutdown(5)
    assert search.state.count() == 9
    dead = list((tmp_path / "deadletter").glob("*.jsonl"))
    assert dead and "mapper_parsing_exception" in dead[0].read_text()
