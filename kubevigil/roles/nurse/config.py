"""The `nurse:` section: what to check each interval, who the neighbours are, and where results go."""

from __future__ import annotations

import itertools
import math
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from pydantic import Field, field_validator, model_validator

from kubevigil.core.hostport import split_host_optional_port
from kubevigil.core.model import Model, Section, SinkRef

BUILTIN_CHECKS = ("api_server_direct", "api_server_dns", "me_ingress", "me_service")
DEFAULT_DNS_NAME = "kubernetes.default.svc.cluster.local"
ALL_NAMESPACES = "*"
DNS_PORT = 53
_DNS_NAME = re.compile(r"^(?=.{1,253}$)[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?(\.[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?)*\.?$",
                       re.IGNORECASE)
_NAMESPACE = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")


def check_http_url(value: str, what: str) -> str:
    """`value` if it is an absolute http(s) URL with a host; ValueError saying why not."""
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"{what} {value!r} is not an http:// or https:// URL with a host")
    try:
        parts.port  # noqa: B018 - raises on a port that is not a number
    except ValueError:
        raise ValueError(f"{what} {value!r} has an invalid port") from None
    return value


class ApiServerChecks(Model):
    """`api_server_direct` and `api_server_dns`: GET /version with kubevigil's own credentials."""

    direct: bool = Field(True, description="Check the API server at `url` (kubenurse: api_server_direct)")
    dns: bool = Field(True, description="Check it through cluster DNS at `dns_name` (kubenurse: api_server_dns)")
    url: str | None = Field(None, description="https://host:port of the API server; default: the one kubevigil's "
                                              "Kubernetes client uses (in a pod: $KUBERNETES_SERVICE_HOST:PORT)")
    dns_name: str = Field(DEFAULT_DNS_NAME, min_length=1, description="The API server's name in cluster DNS")

    @field_validator("url")
    @classmethod
    def _url(cls, value: str | None) -> str | None:
        return None if value is None else check_http_url(value, "api_server.url")

    @field_validator("dns_name")
    @classmethod
    def _dns_name(cls, value: str) -> str:
        if not _DNS_NAME.match(value):
            raise ValueError(f"{value!r} is not a valid host name")
        return value


class Neighbours(Model):
    """The `path_<node>` checks to other nurse pods, chosen on kubenurse's ring."""

    enabled: bool = Field(True, description="Check neighbour nurses (kubenurse: KUBENURSE_CHECK_NEIGHBOURHOOD)")
    namespace: str | None = Field(None, description="Namespace of the nurse pods; default this pod's own; '*' all")
    selector: str = Field("", description="Label selector of the nurse pods (empty: every pod in the namespace)")
    limit: int = Field(10, ge=0, le=100_000, description="Peers each nurse checks (the ring's K); 0: all")
    allow_unschedulable: bool = Field(False, description="Also check nurses on cordoned and NotReady nodes")
    zone_aware: bool = Field(False, description="Keep at least one same-zone and one cross-zone peer "
                                                "(topology.kubernetes.io/zone) when they exist; needs limit >= 2")
    port: int | None = Field(None, ge=1, le=65535,
                             description="Port neighbours answer on; default 8080, or 8443 with `tls.enabled`")

    @field_validator("namespace")
    @classmethod
    def _namespace(cls, value: str | None) -> str | None:
        if value is not None and value != ALL_NAMESPACES and not _NAMESPACE.match(value):
            raise ValueError(f"{value!r} is not a valid namespace name (or '*' for every namespace)")
        return value

    @field_validator("selector")
    @classmethod
    def _selector(cls, value: str) -> str:
        from kubevigil.kube.selectors import parse_label_selector

        parse_label_selector(value)  # kubenurse ignored a bad selector and checked every pod; here it is an error
        return value


class Client(Model):
    """How checks connect: timeouts, trust, connection reuse, name resolution."""

    timeout_seconds: float = Field(6.0, gt=0, le=300, description="Whole request, as kubenurse (5 s dial + 1 s)")
    connect_timeout_seconds: float = Field(5.0, gt=0, le=300, description="Name resolution plus TCP connect")
    insecure: bool = Field(False, description="Skip certificate checks (never for the API server checks)")
    extra_ca: Path | None = Field(None, description="PEM file of more CAs to trust")
    cluster_ca: bool = Field(True, description="Also trust the service account's CA when the file exists")
    reuse_connections: bool = Field(False, description="Keep connections between rounds (kubenurse: off)")
    dns_servers: list[str] = Field(default_factory=list, max_length=8,
                                   description="Resolve names through these servers (ip or ip:port) instead of "
                                               "the system resolver, e.g. to check node-local DNS")

    @field_validator("dns_servers")
    @classmethod
    def _servers(cls, values: list[str]) -> list[str]:
        from ipaddress import ip_address

        for value in values:
            try:
                host, port = split_host_optional_port(value, DNS_PORT)
            except ValueError:
                raise ValueError(f"dns server {value!r} has an invalid port") from None
            try:
                ip_address(host)
            except ValueError:
                raise ValueError(f"dns server {value!r} is not an IP address (optionally with :port)") from None
            if port == 0:
                raise ValueError(f"dns server {value!r} has an invalid port")
        return values


class TlsServer(Model):
    """kubenurse's second listener: HTTPS on 8443 with the same endpoints (KUBENURSE_USE_TLS)."""

    enabled: bool = False
    listen: str = Field("0.0.0.0:8443", description="host:port of the HTTPS listener")
    cert_file: Path | None = None
    key_file: Path | None = None

    @model_validator(mode="after")
    def _files(self) -> TlsServer:
        if self.enabled and (self.cert_file is None or self.key_file is None):
            raise ValueError("tls.enabled needs cert_file and key_file")
        return self


class Histogram(Model):
    """Buckets of the latency histograms on /metrics."""

    buckets: list[float] | None = Field(None, min_length=1, max_length=100,
                                        description="Upper bounds, strictly increasing; default Prometheus' own")
    victoriametrics: bool = Field(False, description="VictoriaMetrics `vmrange` buckets instead of `le` buckets")

    @field_validator("buckets")
    @classmethod
    def _increasing(cls, values: list[float] | None) -> list[float] | None:
        if values is None:
            return None
        if any(math.isnan(v) or v == -math.inf for v in values):
            raise ValueError("a bucket bound is NaN or -Inf")
        if any(a >= b for a, b in itertools.pairwise(values)):
            raise ValueError("bucket bounds must be strictly increasing")
        return [v for v in values if v != math.inf]  # +Inf is always the last bucket


class MetricsOut(Model):
    """Per check class and node: p99 latency, error rate and count over each period, to metric sinks."""

    sinks: list[str] = Field(default_factory=list)
    seconds: float = Field(60.0, ge=1, le=86_400, description="Aggregation period")


class RecordsOut(Model):
    """A record when a check turns bad or recovers (one per transition, for paging through SNS)."""

    sinks: list[str] = Field(default_factory=list)
    fail_after: int = Field(3, ge=1, le=1000, description="Consecutive failed rounds before a check is bad")
    recover_after: int = Field(2, ge=1, le=1000, description="Consecutive good rounds before it is ok again")


class NurseSection(Section):
    """In-cluster network probing on every node (replaces kubenurse)."""

    interval_seconds: float = Field(5.0, gt=0, le=86_400, description="Time between rounds of checks")
    shutdown_seconds: float = Field(5.0, ge=0, le=3600, description="On SIGTERM: unready this long, then stop")
    api_server: ApiServerChecks = Field(default_factory=lambda: ApiServerChecks.model_validate({}))
    ingress_url: str | None = Field(None, description="me_ingress: this URL + /alwayshappy; skipped when unset")
    service_url: str | None = Field(None, description="me_service: this URL + /alwayshappy; skipped when unset")
    extra_checks: dict[str, str] = Field(default_factory=dict, max_length=100,
                                         description="More checks: type label -> URL (no credentials are sent)")
    neighbours: Neighbours = Field(default_factory=lambda: Neighbours.model_validate({}))
    client: Client = Field(default_factory=lambda: Client.model_validate({}))
    tls: TlsServer = Field(default_factory=lambda: TlsServer.model_validate({}))
    histogram: Histogram = Field(default_factory=lambda: Histogram.model_validate({}))
    metrics: MetricsOut = Field(default_factory=lambda: MetricsOut.model_validate({}))
    records: RecordsOut = Field(default_factory=lambda: RecordsOut.model_validate({}))

    @field_validator("ingress_url", "service_url")
    @classmethod
    def _prefix(cls, value: str | None) -> str | None:
        return None if value is None else check_http_url(value, "URL")

    @field_validator("extra_checks")
    @classmethod
    def _extra(cls, checks: dict[str, str]) -> dict[str, str]:
        for name, url in checks.items():
            if not name or name in BUILTIN_CHECKS or name.startswith("path_"):
                raise ValueError(f"extra check name {name!r} is empty, built in, or starts with path_")
            check_http_url(url, f"extra check {name!r}: URL")
        return checks

    def sink_refs(self) -> Iterable[SinkRef]:
        for i, name in enumerate(self.metrics.sinks):
            yield ("metrics", "sinks", i), name, "metric"
        for i, name in enumerate(self.records.sinks):
            yield ("records", "sinks", i), name, "record"


def demo_section(metric_sinks: Iterable[str] = ("prometheus",),
                 record_sinks: Iterable[str] = ("events-file",)) -> dict[str, Any]:
    """The `nurse:` section of `kubevigil demo`: the demo process checks the API server and every nurse pod."""
    return {
        "interval_seconds": 5,
        "shutdown_seconds": 0,
        # The emulator's certificate names localhost: a resolved name, as the cluster DNS name is in a cluster.
        "api_server": {"dns_name": "localhost"},
        "neighbours": {"namespace": "kube-nurse", "selector": "app.kubernetes.io/name=kubenurse"},
        "client": {"timeout_seconds": 2, "connect_timeout_seconds": 1},
        "metrics": {"sinks": list(metric_sinks), "seconds": 30},
        "records": {"sinks": list(record_sinks), "fail_after": 2},
    }
