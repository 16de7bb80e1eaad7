"""The `elasticsearch` sink: Records into Elasticsearch through `_bulk`, doc id = record id."""

from __future__ import annotations

from typing import Any

from elastic_transport import ApiError, TransportError
from elastic_transport import ConnectionError as ESConnectionError
from elasticsearch import AsyncElasticsearch

from kubevigil.sinks.bulk_index import BulkIndexSink
from kubevigil.sinks.elasticsearch.params import Params
from kubevigil.sinks.sink import RetryableError, SinkContext, error_for_status


class ElasticsearchSink(BulkIndexSink):
    def __init__(self, params: Params, ctx: SinkContext) -> None:
        super().__init__(params, ctx)
        self._params = params
        self._client: AsyncElasticsearch | None = None

    async def start(self) -> None:
        self._client = AsyncElasticsearch(hosts=self._params.addresses(), **self._connection_options())

    def _connection_options(self) -> dict[str, Any]:
        p = self._params
        options: dict[str, Any] = {"request_timeout": p.timeout, "verify_certs": p.verify_tls, "max_retries": 0}
        if p.headers:
            options["headers"] = {name: value.get_secret_value() for name, value in p.headers.items()}
        if p.ca_file:
            options["ca_certs"] = p.ca_file
        if p.basic_auth is not None:
            options["basic_auth"] = (p.basic_auth.username, p.basic_auth.password.get_secret_value())
        elif p.api_key is not None:
            options["api_key"] = p.api_key.get_secret_value()
        return options

    async def _bulk(self, body: bytes) -> dict[str, Any]:
        assert self._client is not None, "start() first"
        try:
            # A prebuilt NDJSON body: each document is serialised once, by BulkBuilder, not again by the client.
            response = await self._client.bulk(body=body)  # type: ignore[arg-type]
        except ApiError as exc:
            raise error_for_status(exc.meta.status, f"elasticsearch _bulk: {exc.meta.status} {exc.message}") from exc
        except (ESConnectionError, TransportError) as exc:
            raise RetryableError(f"elasticsearch unreachable: {exc}") from exc
        return dict(response.body)

    async def close(self) -> None:
        if self._client is not None:
            await self._client.close()
