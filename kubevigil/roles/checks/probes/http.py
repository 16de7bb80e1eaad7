"""The `http` probe: one request; pass on an expected status, an optional body match and a latency budget."""

from __future__ import annotations

import re
import ssl
import time
from functools import cached_property
from typing import Annotated, Literal

import aiohttp
from pydantic import AfterValidator, Field, field_validator
from yarl import URL

from kubevigil.roles.checks.probes.headers import Headers, resolve_headers
from kubevigil.roles.checks.probes.patterns import Pattern, compile_pattern, shown
from kubevigil.roles.checks.probes.probe import Attempt, CheckFailed, Outcome, ProbeEnv, ProbeSpec
from kubevigil.sinks.http_post import TlsParams, ssl_context

MAX_BODY = 1024 * 1024  # bytes of the body read and matched; the rest is not downloaded
# The run's own timeout bounds every request; a session default (aiohttp's is 5 min) must not cut in with another.
NO_CLIENT_TIMEOUT = aiohttp.ClientTimeout(total=None, connect=None, sock_read=None, sock_connect=None)
DEFAULT_STATUS: list[int | str] = ["2xx"]
_STATUS_RANGE = re.compile(r"^([1-5]\d\d)-([1-5]\d\d)$")
_STATUS_CLASS = re.compile(r"^([1-5])xx$")


def status_range(item: int | str) -> tuple[int, int]:
    """200 -> (200, 200); "2xx" -> (200, 299); "200-399" -> (200, 399); ValueError otherwise."""
    text = str(item).strip().lower()
    if text.isdigit() and 100 <= int(text) <= 599:
        return int(text), int(text)
    if m := _STATUS_CLASS.match(text):
        return int(m.group(1)) * 100, int(m.group(1)) * 100 + 99
    if (m := _STATUS_RANGE.match(text)) and int(m.group(1)) <= int(m.group(2)):
        return int(m.group(1)), int(m.group(2))
    raise ValueError(f"{item!r} is not a status (100-599), a class like '2xx' or a range like '200-399'")


def _valid_url(value: str) -> str:
    try:
        parsed = URL(value)
        port = parsed.port
    except ValueError as exc:
        raise ValueError(f"{safe_url_text(value)!r} is not a valid URL: {exc}") from None
    if parsed.scheme not in ("http", "https") or not parsed.host or any(c.isspace() for c in value):
        raise ValueError(f"{safe_url_text(value)!r} is not an http:// or https:// URL with a host")
    if not port:
        raise ValueError(f"{safe_url_text(value)!r}: port 0 cannot be connected to")
    return value


HttpUrl = Annotated[str, AfterValidator(_valid_url)]


class HttpProbe(ProbeSpec):
    """Request a URL; pass when the status is expected, the body matches and the answer came within the budget."""

    url: HttpUrl = Field(description="http:// or https:// URL")
    method: Literal["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"] = "GET"
    headers: Headers = Field(default_factory=dict, description="Request headers; values are secret, never shown")
    body: str | None = Field(None, description="Request body (UTF-8)")
    status: list[int | str] = Field(default_factory=DEFAULT_STATUS.copy, min_length=1,
                                    description="Expected statuses: 200, '2xx' or '200-399'")
    body_regex: Pattern | None = Field(None, description="Regular expression searched in the body's first MiB")
    latency_budget_seconds: float | None = Field(None, gt=0, description="Fail when the whole answer takes longer")
    follow_redirects: bool = True
    tls: TlsParams | None = Field(None, description="insecure_skip_verify, ca_file, client certificate")

    @field_validator("status")
    @classmethod
    def _statuses_valid(cls, items: list[int | str]) -> list[int | str]:
        for item in items:
            status_range(item)
        return items

    @cached_property
    def _ranges(self) -> tuple[tuple[int, int], ...]:
        return tuple(status_range(item) for item in self.status)

    @cached_property
    def _pattern(self) -> re.Pattern[str] | None:
        return compile_pattern(self.body_regex) if self.body_regex is not None else None

    @cached_property
    def _tls(self) -> ssl.SSLContext | bool:
        return client_tls(self.tls)  # a failure is not cached: a missing file may appear by the next run

    def target(self) -> str:
        return f"{self.method} {safe_url(self.url)}"

    async def check(self, env: ProbeEnv, attempt: Attempt) -> Outcome:
        headers = await resolve_headers(self.headers, env.api)
        data = self.body.encode() if self.body is not None else None
        tls = self._tls
        attempt.doing = "waiting for the response"
        started = time.perf_counter()
        async with env.http.request(self.method, self.url, headers=headers, data=data, ssl=tls,
                                    allow_redirects=self.follow_redirects, timeout=NO_CLIENT_TIMEOUT) as resp:
            attempt.doing = "reading the body"
            body = await read_bounded(resp, MAX_BODY)
            latency = time.perf_counter() - started
            text = body.decode(resp.charset or "utf-8", "replace") if self._pattern is not None else ""
        return self._judge(resp.status, text, latency)

    def _judge(self, status: int, text: str, latency: float) -> Outcome:
        values = {"latency_seconds": latency, "status_code": float(status)}
        if not any(lo <= status <= hi for lo, hi in self._ranges):
            expected = ", ".join(str(item) for item in self.status)
            return Outcome(False, f"http: status {status}, expected {expected}", values)
        if self._pattern is not None and not self._pattern.search(text):
            return Outcome(False, f"mismatch: the body does not match {shown(self._pattern)}", values)
        budget = self.latency_budget_seconds
        if budget is not None and latency > budget:
            return Outcome(False, f"slow: answered in {latency:.3f}s, over the {budget:g}s budget", values)
        return Outcome(True, f"{status} in {latency:.3f}s", values)


def safe_url(url: str) -> str:
    """The URL without user info, query or fragment (where tokens hide), for messages."""
    parsed = URL(url)
    shown_url = str(parsed.with_user(None).with_query(None).with_fragment(None))
    return shown_url + ("?…" if parsed.query_string else "")


def safe_url_text(text: str) -> str:
    """`safe_url` for text that may not parse: cut at the query, user info dropped by hand."""
    scheme, sep, rest = text.partition("://")
    authority, slash, path = rest.partition("/")
    authority = authority.rpartition("@")[2]
    return (scheme + sep + authority + slash + path).split("?", 1)[0].split("#", 1)[0]


def client_tls(tls: TlsParams | None) -> ssl.SSLContext | bool:
    """The client TLS settings; a CA or certificate file that cannot be loaded fails the check, naming the file."""
    try:
        return ssl_context(tls)
    except (OSError, ssl.SSLError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else type(exc).__name__
        raise CheckFailed(f"config: cannot load the TLS files: {reason}") from None


async def read_bounded(resp: aiohttp.ClientResponse, limit: int) -> bytes:
    """At most `limit` bytes of the body; what is left is never downloaded (the connection is closed instead)."""
    chunks: list[bytes] = []
    size = 0
    while size < limit:
        chunk = await resp.content.read(limit - size)
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    return b"".join(chunks)
