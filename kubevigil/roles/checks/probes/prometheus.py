"""The `prometheus` probe: a PromQL instant query whose every sample is compared with a threshold."""

from __future__ import annotations

import math
import operator
import ssl
from collections.abc import Callable
from functools import cached_property
from typing import Any, Literal

import orjson
from pydantic import Field
from yarl import URL

from kubevigil.roles.checks.probes.headers import Headers, resolve_headers
from kubevigil.roles.checks.probes.http import (
    MAX_BODY,
    NO_CLIENT_TIMEOUT,
    HttpUrl,
    client_tls,
    read_bounded,
    safe_url,
)
from kubevigil.roles.checks.probes.probe import Attempt, CheckFailed, Outcome, ProbeEnv, ProbeSpec
from kubevigil.sinks.http_post import TlsParams

Op = Literal["<", "<=", ">", ">=", "==", "!="]
_OPS: dict[str, Callable[[float, float], bool]] = {
    "<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge, "==": operator.eq, "!=": operator.ne,
}


class PrometheusProbe(ProbeSpec):
    """Pass when every sample of the query's result satisfies `value <op> threshold`."""

    url: HttpUrl = Field(description="Prometheus base URL, e.g. http://prometheus:9090")
    query: str = Field(min_length=1, description="PromQL expression evaluated now (an instant query)")
    op: Op = Field(description="The check passes when `value <op> threshold` for every sample")
    threshold: float
    on_empty: Literal["ok", "fail"] = Field("fail", description="The result when the query returns no sample")
    headers: Headers = Field(default_factory=dict, description="Request headers; values are secret, never shown")
    tls: TlsParams | None = Field(None, description="insecure_skip_verify, ca_file, client certificate")

    @cached_property
    def _tls(self) -> ssl.SSLContext | bool:
        return client_tls(self.tls)

    def target(self) -> str:
        return f"prometheus {safe_url(self.url)} {self.query} {self.op} {self.threshold:g}"

    async def check(self, env: ProbeEnv, attempt: Attempt) -> Outcome:
        headers = await resolve_headers(self.headers, env.api)
        url = URL(self.url.rstrip("/") + "/api/v1/query")
        # Prometheus stops evaluating at its own timeout too, so an abandoned query does not go on costing it.
        params = {"query": self.query, "timeout": f"{attempt.timeout:g}"}  # plain seconds
        attempt.doing = "waiting for the query"
        async with env.http.get(url, params=params, headers=headers, ssl=self._tls,
                                timeout=NO_CLIENT_TIMEOUT) as resp:
            body = await read_bounded(resp, MAX_BODY)
        return self._judge(resp.status, body)

    def _judge(self, status: int, body: bytes) -> Outcome:
        try:
            doc = orjson.loads(body)
        except orjson.JSONDecodeError:
            raise CheckFailed(f"prometheus: http {status}, the answer is not JSON") from None
        if not isinstance(doc, dict):
            raise CheckFailed(f"prometheus: http {status}, the answer is not a query result")
        if doc.get("status") != "success":
            error = f": {doc['error']}" if doc.get("error") else ""
            raise CheckFailed(f"prometheus: http {status}: {doc.get('errorType') or 'error'}{error}")
        samples = _samples(doc.get("data") or {})
        if not samples:
            return Outcome(self.on_empty == "ok", "the query returned no sample", {"samples": 0.0})
        compare = _OPS[self.op]
        # NaN (0/0, a missing rate) passes no comparison, != included: it says nothing about the system.
        bad = [(labels, value) for labels, value in samples
               if math.isnan(value) or not compare(value, self.threshold)]
        labels, value = bad[0] if bad else samples[0]
        values = {"value": value, "samples": float(len(samples))}
        if bad:
            where = f" ({len(bad)} of {len(samples)} samples)" if len(samples) > 1 else ""
            return Outcome(False, f"mismatch: {labels}{_g(value)}, expected {self.op} {self.threshold:g}{where}", values)
        return Outcome(True, f"{labels}{_g(value)}" if len(samples) == 1 else
                       f"all {len(samples)} samples {self.op} {self.threshold:g}", values)


def _samples(data: dict[str, Any]) -> list[tuple[str, float]]:
    """(labels text, value) for a vector or a scalar; other result types fail the check."""
    kind, result = data.get("resultType"), data.get("result")
    if kind == "scalar" and isinstance(result, list) and len(result) == 2:
        return [("", _number(result[1]))]
    if kind == "vector" and isinstance(result, list):
        return [(_labels(item.get("metric") or {}), _number(item["value"][1])) for item in result]
    raise CheckFailed(f"prometheus: the query returned a {kind}; use an expression giving an instant vector or scalar")


def _number(text: Any) -> float:
    try:
        return float(text)  # "NaN", "+Inf" and "-Inf" included
    except (TypeError, ValueError):
        raise CheckFailed(f"prometheus: {str(text)[:40]!r} is not a sample value") from None


def _labels(metric: dict[str, str]) -> str:
    name = metric.get("__name__", "")
    rest = ",".join(f'{k}="{v}"' for k, v in sorted(metric.items()) if k != "__name__")
    text = f"{name}{{{rest}}}" if rest else name
    return f"{text} = " if text else ""


def _g(value: float) -> str:
    return "NaN" if math.isnan(value) else f"{value:g}"
