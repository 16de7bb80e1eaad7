"""HTTP delivery shared by the webhook-style sinks: one aiohttp session, TLS options, status classification."""

from __future__ import annotations

import ssl
import urllib.parse
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from typing import Any, ClassVar

import aiohttp
from pydantic import Field

from kubevigil.core.jsontext import to_json
from kubevigil.core.model import Model
from kubevigil.core.signals import Record
from kubevigil.core.templating import RenderError
from kubevigil.sinks.payloads import Payload
from kubevigil.sinks.sink import (
    Ack,
    ItemFailure,
    PermanentError,
    RetryableError,
    SignalKind,
    Sink,
    SinkError,
    error_for_status,
)


class TlsParams(Model):
    insecure_skip_verify: bool = Field(False, description="Do not verify the server certificate (testing only)")
    ca_file: str | None = Field(None, description="PEM bundle of CAs to trust")
    cert_file: str | None = Field(None, description="Client certificate (PEM) for mutual TLS")
    key_file: str | None = Field(None, description="Client key (PEM) for mutual TLS")


class HttpParams(Model):
    timeout: float = Field(10.0, gt=0, le=300, description="Seconds one request may take, connect included")
    tls: TlsParams | None = None


def check_one_authorization(url: str, headers: Iterable[str], basic_auth: bool = False) -> None:
    """ValueError unless at most one of URL userinfo, an Authorization header and basic_auth is given: the HTTP
    client refuses to combine them, so every send would fail."""
    given = [what for what, present in (
        ("credentials in the URL", urllib.parse.urlsplit(url).username is not None),
        ("an Authorization header", any(h.lower() == "authorization" for h in headers)),
        ("basic_auth", basic_auth),
    ) if present]
    if len(given) > 1:
        raise ValueError(f"give one way to authenticate, not {' and '.join(given)}")


def ssl_context(tls: TlsParams | None) -> ssl.SSLContext | bool:
    if tls is None:
        return True
    ctx = ssl.create_default_context(cafile=tls.ca_file)
    if tls.insecure_skip_verify:
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    if tls.cert_file:
        ctx.load_cert_chain(tls.cert_file, tls.key_file)
    return ctx


def status_error(service: str, status: int, body: bytes) -> SinkError:
    """The error for a non-2xx answer, classified by `error_for_status`, with the start of the body."""
    text = body[:300].decode("utf-8", "replace").strip()
    return error_for_status(status, f"{service} answered {status}: {text}")


class Poster:
    """Owns one client session for a sink; `post` returns the body of a 2xx answer or raises SinkError."""

    def __init__(self, service: str, params: HttpParams) -> None:
        self.service = service
        self._timeout = aiohttp.ClientTimeout(total=params.timeout)
        self._ssl = ssl_context(params.tls)
        self._session: aiohttp.ClientSession | None = None

    async def start(self) -> None:
        self._session = aiohttp.ClientSession(timeout=self._timeout, connector=aiohttp.TCPConnector(ssl=self._ssl))

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()

    async def post(self, url: str, data: bytes, headers: Mapping[str, str]) -> bytes:
        assert self._session is not None, "start() first"
        try:
            async with self._session.post(url, data=data, headers=dict(headers)) as resp:
                body = await resp.read()
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise RetryableError(f"{self.service} unreachable: {type(exc).__name__}: {exc}") from exc
        if resp.status >= 300:
            raise status_error(self.service, resp.status, body)
        return body


class HttpSink(Sink[Record]):
    """A record sink that talks HTTP through one Poster; subclasses build and send the requests."""

    kinds: ClassVar[frozenset[SignalKind]] = frozenset({"record"})

    def __init__(self, service: str, params: HttpParams) -> None:
        self._poster = Poster(service, params)

    async def start(self) -> None:
        await self._poster.start()

    async def close(self) -> None:
        await self._poster.close()


def json_each(batch: Sequence[Record], build: Callable[[Record], Any]) -> tuple[list[Payload], list[ItemFailure]]:
    """JSON of `build(record)` for each record; a record whose templates fail is an item failure of its own."""
    payloads, failures = [], []
    for i, record in enumerate(batch):
        try:
            payloads.append(Payload(i, record, to_json(build(record))))
        except RenderError as exc:
            failures.append(ItemFailure(i, f"record {record.id}: template failed: {exc}", retryable=False))
        except TypeError as exc:  # a template produced a value JSON cannot hold
            failures.append(ItemFailure(i, f"record {record.id}: not JSON-serialisable: {exc}", retryable=False))
    return payloads, failures


async def send_each(
    payloads: Sequence[Payload], send_one: Callable[[Payload], Awaitable[None]], ack: Ack
) -> list[ItemFailure]:
    """One request per payload, in order, each acknowledged as it succeeds. A rejected payload fails alone; an outage
    stops the batch, and the payloads not yet sent are handed back for retry (or the whole batch is retried if
    nothing went out)."""
    failures: list[ItemFailure] = []
    for n, payload in enumerate(payloads):
        try:
            await send_one(payload)
            await ack([payload.index])
        except PermanentError as exc:
            failures.append(ItemFailure(payload.index, str(exc), retryable=False))
        except RetryableError as exc:
            if n == 0:
                raise
            failures += [ItemFailure(p.index, str(exc), retryable=True) for p in payloads[n:]]
            break
    return failures
