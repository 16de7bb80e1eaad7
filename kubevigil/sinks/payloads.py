"""Records rendered to the bytes a record API carries, split into calls that fit its limits, and sent in order."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from kubevigil.core.jsontext import to_json
from kubevigil.core.signals import Record
from kubevigil.core.templating import RenderError, Value, record_context
from kubevigil.sinks.sink import Ack, ItemFailure, SinkError

T = TypeVar("T")

_FIFO_ID_CHARS = re.compile(r"\A[A-Za-z0-9!-/:-@\[-`{-~]{1,128}\Z")


@dataclass(frozen=True, slots=True)
class Payload:
    """One record's rendered message; `index` is its position in the batch delivery handed over."""

    index: int
    record: Record
    data: bytes
    key: str = ""  # a partition or group key, for APIs that take one


def layout_document(record: Record, layout: Value | None) -> Any:
    """The document a record becomes: the layout rendered with the record's context, or its body as is."""
    if layout is None:
        return record.body
    return layout.render(record_context(record))


def fifo_id(record_id: str) -> str:
    """A FIFO dedup or group id from a record id: itself when SQS/SNS accept it, else its SHA-256."""
    if _FIFO_ID_CHARS.match(record_id):
        return record_id
    return hashlib.sha256(record_id.encode()).hexdigest()


def render(
    batch: Sequence[Record], layout: Value | None, max_item_bytes: int, api: str
) -> tuple[list[Payload], list[ItemFailure]]:
    """JSON of each record's layout; an item that fails to render or is too large fails alone."""
    payloads: list[Payload] = []
    failures: list[ItemFailure] = []
    for index, record in enumerate(batch):
        try:
            data = to_json(layout_document(record, layout))
        except RenderError as exc:
            failures.append(ItemFailure(index, f"record {record.id}: layout failed: {exc}", retryable=False))
            continue
        except TypeError as exc:  # orjson: the layout produced a value JSON cannot hold
            failures.append(ItemFailure(index, f"record {record.id}: not JSON-serialisable: {exc}", retryable=False))
            continue
        if len(data) > max_item_bytes:
            reason = f"record {record.id}: message is {len(data)} bytes, over {api}'s limit of {max_item_bytes}"
            failures.append(ItemFailure(index, reason, retryable=False))
            continue
        payloads.append(Payload(index, record, data))
    return payloads, failures


def chunks(payloads: Sequence[T], max_items: int, max_bytes: int, size: Callable[[T], int]) -> Iterator[list[T]]:
    """Consecutive runs of payloads, each within the API's item count and byte total."""
    run: list[T] = []
    total = 0
    for payload in payloads:
        n = size(payload)
        if run and (len(run) >= max_items or total + n > max_bytes):
            yield run
            run, total = [], 0
        run.append(payload)
        total += n
    if run:
        yield run


def failed_by_id(run: Sequence[Payload], failed: Sequence[dict[str, Any]], api: str) -> list[ItemFailure]:
    """SQS's and SNS's `Failed` entries (entry Id = position in the run); a sender fault is permanent."""
    return [
        ItemFailure(run[int(f["Id"])].index, f"{api} {f.get('Code')}: {f.get('Message', '')}", not f.get("SenderFault"))
        for f in failed
    ]


def failed_in_order(
    run: Sequence[Payload], results: Sequence[dict[str, Any]], api: str, retryable_codes: frozenset[str]
) -> list[ItemFailure]:
    """Per-entry results in request order (Kinesis, Firehose, EventBridge): those with an `ErrorCode` failed."""
    return [
        ItemFailure(p.index, f"{api} {r['ErrorCode']}: {r.get('ErrorMessage', '')}", r["ErrorCode"] in retryable_codes)
        for p, r in zip(run, results, strict=True)
        if r.get("ErrorCode")
    ]


async def send_in_order(
    runs: Sequence[Sequence[Payload]], put: Callable[[Sequence[Payload]], Awaitable[list[ItemFailure]]], ack: Ack
) -> list[ItemFailure]:
    """Send runs one after another, acknowledging what each delivered. Once one has gone through, a later failure
    fails only the items not yet sent, so a retry never sends an accepted item again."""
    failures: list[ItemFailure] = []
    for n, run in enumerate(runs):
        try:
            failed = await put(run)
        except SinkError as exc:
            if n == 0:
                raise
            unsent = [p for later in runs[n:] for p in later]
            failures += [ItemFailure(p.index, str(exc), retryable=exc.retryable) for p in unsent]
            break
        failures += failed
        refused = {f.index for f in failed}
        await ack([p.index for p in run if p.index not in refused])
    return failures


DOTTED_MAPS = frozenset({"labels", "annotations"})


def de_dot(record: Record) -> Record:
    """The record with dots in label and annotation keys replaced by underscores, as event-exporter's deDot does,
    because Elasticsearch-style consumers read a dotted key as a path."""
    return Record(record.id, record.timestamp, _de_dot_tree(record.body))


def _de_dot_tree(node: Any) -> Any:
    if isinstance(node, dict):
        return {k: _de_dot_keys(v) if k in DOTTED_MAPS else _de_dot_tree(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_de_dot_tree(v) for v in node]
    return node


def _de_dot_keys(node: Any) -> Any:
    if isinstance(node, dict):
        return {str(k).replace(".", "_"): v for k, v in node.items()}
    return _de_dot_tree(node)
