"""The `opensearch` sink: Records into OpenSearch (or Amazon OpenSearch) through `_bulk`, doc id = record id."""

from __future__ import annotations

from typing import Any

import boto3
from opensearchpy import AsyncHttpConnection, AsyncOpenSearch, AWSV4SignerAsyncAuth
from opensearchpy.exceptions import ConnectionError as OSConnectionError
from opensearchpy.exceptions import TransportError

from kubevigil.sinks.bulk_index import BulkIndexSink
from kubevigil.sinks.opensearch.params import Params
from kubevigil.sinks.sink import RetryableError, SinkContext, error_for_status


class OpenSearchSink(BulkIndexSink):
    def __init__(self, params: Params, ctx: SinkContext) -> None:
        super().__init__(params, ctx)
        self.params: Params = params
        self._client: AsyncOpenSearch | None = None

    async def start(self) -> None:
        self._client = AsyncOpenSearch(hosts=self.params.hosts, **self._connection_options())

    def _connection_options(self) -> dict[str, Any]:
        p = self.params
        options: dict[str, Any] = {"timeout": p.timeout, "verify_certs": p.verify_tls, "max_retries": 0}
        if p.ca_file:
            options["ca_certs"] = p.ca_file
        if p.aws_sigv4 is not None:
            session = boto3.session.Session(region_name=p.aws_sigv4.region)
            options["http_auth"] = AWSV4SignerAsyncAuth(session.get_credentials(), session.region_name, p.aws_sigv4.service)
            options["connection_class"] = AsyncHttpConnection  # the connection class that calls the signer
        elif p.basic_auth is not None:
            options["http_auth"] = (p.basic_auth.username, p.basic_auth.password.get_secret_value())
        elif p.api_key is not None:
            options["headers"] = {"Authorization": f"ApiKey {p.api_key.get_secret_value()}"}
        return options

    async def _bulk(self, body: bytes) -> dict[str, Any]:
        assert self._client is not None, "start() first"
        try:
            response: dict[str, Any] = await self._client.bulk(body=body, request_timeout=self.params.timeout)
        except OSConnectionError as exc:
            raise RetryableError(f"opensearch unreachable: {exc.error}") from exc
        except TransportError as exc:
            status = exc.status_code if isinstance(exc.status_code, int) else None
            raise error_for_status(status, f"opensearch _bulk: {status} {exc.error}") from exc
        return response

    async def close(self) -> None:
        if self._client is not None:
            await self._client.close()
