"""Rendering, splitting and ordered sending shared by the AWS record sinks."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from kubevigil.core.templating import compile_value
from kubevigil.sinks.payloads import Payload, chunks, fifo_id, render, send_in_order
from kubevigil.sinks.sink import ItemFailure, RetryableError, no_ack
from tests.sinks_aws.conftest import event_record


def test_fifo_id_keeps_valid_ids_and_hashes_others() -> None:
    assert fifo_id("3f2c-uid:4") == "3f2c-uid:4"
    assert len(fifo_id("x" * 200)) == 64
    assert fifo_id("ümlaut") != "ümlaut" and len(fifo_id("ümlaut")) == 64


def test_render_keeps_types_and_reports_failures() -> None:
    layout = compile_value({"n": "{{ count }}", "t": "{{ event_time }}", "missing": "{{ nothere.deeper }}"})
    payloads, failures = render([event_record(1, t=0), event_record(2, count=[1])], layout, 1000, "Test")
    assert failures == []
    assert payloads[0].data == b'{"n":1,"t":"1970-01-01T00:00:00+00:00","missing":null}'


def test_chunks_respect_count_and_bytes() -> None:
    payloads = [Payload(i, event_record(i), b"x" * size) for i, size in enumerate([4, 4, 4, 9, 1, 1, 1])]
    runs = list(chunks(payloads, max_items=3, max_bytes=10, size=lambda p: len(p.data)))
    assert [[p.index for p in run] for run in runs] == [[0, 1], [2], [3, 4], [5, 6]]


async def test_first_run_failing_raises_for_the_whole_batch() -> None:
    async def put(run: Sequence[Payload]) -> list[ItemFailure]:
        raise RetryableError("throttled")

    runs = [[Payload(0, event_record(0), b"{}")], [Payload(1, event_record(1), b"{}")]]
    with pytest.raises(RetryableError):
        await send_in_order(runs, put, no_ack)
