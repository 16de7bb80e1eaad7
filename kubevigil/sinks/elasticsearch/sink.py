"""The `elasticsearch` sink: Records into Elasticsearch through `_bulk`, doc id = record id."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

from elastic_transport import ApiError, ConnectionError as ESConnectionError, TransportError
from elasticsearch import AsyncElasticsearch

from kubevigil.signals import Record
from kubevigil.sinks.bulk_index import BulkBuilder, http_status_retryable, item_failures
from kubevigil.sinks.elasticsearch.params import Params
from kubevigil.sinks.sink import BatchLimits, ItemFailure, PermanentError, RetryableError, SignalKind, Sink, SinkContext


class ElasticsearchSink(Sink[Record]):
    kinds: ClassVar[frozenset[SignalKind]] = frozenset({"record"})

    def __init__(self, params: Params, ctx: SinkContext) -> None:
        self.params = params
        self.limits = BatchLimits(max_items=params.max_bulk_items, max_bytes=params.max_bulk_bytes, max_age=1.0)
        self._builder = BulkBuilder(params)
        self._client: AsyncElasticsearch | None = None

    async def start(self) -> None:
        self._client = AsyncElasticsearch(hosts=self.params.hosts, **self._connection_options())

    def _connection_options(self) -> dict[str, Any]:
        p = self.params
        options: dict[str, Any] = {"request_timeout": p.timeout, "verify_certs": p.verify_tls, "max_retries": 0}
        if p.ca_file:
            options["ca_certs"] = p.ca_file
        if p.basic_auth is not None:
            options["basic_auth"] = (p.basic_auth.username, p.basic_auth.password.get_secret_value())
        elif p.api_key is not None:
            options["api_key"] = p.api_key.get_secret_value()
        return options

    async def send(self, batch: Sequence[Record]) -> list[ItemFailure]:
        assert self._client is not None, "start() first"
        body, payloads, failures = self._builder.build(batch)
        if not payloads:
            return failures
        try:
            # A prebuilt NDJSON body: each document is serialised once, by BulkBuilder, not again by the client.
            response = await self._client.bulk(body=body)  # type: ignore[arg-type]
        except ApiError as exc:
            error = RetryableError if http_status_retryable(exc.meta.status) else PermanentError
            raise error(f"elasticsearch _bulk: {exc.meta.status} {exc.message}") from exc
        except (ESConnectionError, TransportError) as exc:
            raise RetryableError(f"elasticsearch unreachable: {exc}") from exc
        return failures + item_failures(dict(response.body), payloads)

    async def close(self) -> None:
        if self._client is not None:
            await self._client.close()
