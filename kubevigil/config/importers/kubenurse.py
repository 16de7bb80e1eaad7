"""kubenurse's environment variables, translated to a native `nurse:` section.

Each variable is parsed as kubenurse's Go code parses it (exact-string `true`/`false`, `time.ParseDuration`,
`strconv.ParseFloat`, `strconv.Atoi`, `name:url|name:url`), but a value kubenurse would ignore, misread or die on
later is a start-up error naming the variable. Values kubevigil treats differently produce a warning saying how.
"""

from __future__ import annotations

import difflib
import itertools
import math
import re
import ssl
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from kubevigil.config.issues import ConfigError, ConfigIssue, Loc

if TYPE_CHECKING:
    from kubevigil.config.loader import Loaded
    from kubevigil.config.tables import Tables

DEFAULT_LISTEN = "0.0.0.0:8080"
TLS_PORT = 8443

# Every variable env-vars.md lists, with the native key path its errors are reported at.
VARIABLES: dict[str, Loc] = {
    "KUBENURSE_CHECK_INTERVAL": ("nurse", "interval_seconds"),
    "KUBENURSE_SHUTDOWN_DURATION": ("nurse", "shutdown_seconds"),
    "KUBENURSE_USE_TLS": ("nurse", "tls"),
    "KUBENURSE_CERT_FILE": ("nurse", "tls", "cert_file"),
    "KUBENURSE_CERT_KEY": ("nurse", "tls", "key_file"),
    "KUBENURSE_ALLOW_UNSCHEDULABLE": ("nurse", "neighbours", "allow_unschedulable"),
    "KUBENURSE_EXPOSE_METADATA": (),
    "KUBENURSE_HISTOGRAM_BUCKETS": ("nurse", "histogram", "buckets"),
    "KUBENURSE_VICTORIAMETRICS_HISTOGRAM": ("nurse", "histogram", "victoriametrics"),
    "KUBENURSE_INGRESS_URL": ("nurse", "ingress_url"),
    "KUBENURSE_SERVICE_URL": ("nurse", "service_url"),
    "KUBERNETES_SERVICE_HOST": ("nurse", "api_server", "url"),
    "KUBERNETES_SERVICE_PORT": (),
    "KUBERNETES_SERVICE_DNS": ("nurse", "api_server", "dns_name"),
    "KUBENURSE_NAMESPACE": ("nurse", "neighbours", "namespace"),
    "KUBENURSE_NEIGHBOUR_FILTER": ("nurse", "neighbours", "selector"),
    "KUBENURSE_NEIGHBOUR_LIMIT": ("nurse", "neighbours", "limit"),
    "KUBENURSE_CHECK_API_SERVER_DIRECT": ("nurse", "api_server", "direct"),
    "KUBENURSE_CHECK_API_SERVER_DNS": ("nurse", "api_server", "dns"),
    "KUBENURSE_CHECK_ME_INGRESS": (),
    "KUBENURSE_CHECK_ME_SERVICE": (),
    "KUBENURSE_CHECK_NEIGHBOURHOOD": ("nurse", "neighbours", "enabled"),
    "KUBENURSE_EXTRA_CHECKS": ("nurse", "extra_checks"),
    "KUBENURSE_EXTRA_CA": ("nurse", "client", "extra_ca"),
    "KUBENURSE_INSECURE": ("nurse", "client", "insecure"),
    "KUBENURSE_REUSE_CONNECTIONS": ("nurse", "client", "reuse_connections"),
    "KUBEVIGIL_LISTEN": ("server", "listen"),
}
PROXY_VARIABLES = ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy")

_DURATION_UNITS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "μs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}
_DURATION_PART = re.compile(r"(\d*)(?:\.(\d*))?(ns|us|µs|μs|ms|s|m|h)")
_MAX_DURATION = (2**63 - 1) * 1e-9  # Go's time.Duration is int64 nanoseconds
_DECIMAL = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")
_HEX_FLOAT = re.compile(r"[+-]?0[xX]([0-9a-fA-F]+\.?[0-9a-fA-F]*|\.[0-9a-fA-F]+)[pP][+-]?\d+")
_SPECIAL_FLOAT = re.compile(r"[+-]?(inf|infinity|nan)", re.IGNORECASE)
_INT = re.compile(r"[+-]?\d+")


class _Issues:
    """Problems found so far, each at its variable."""

    def __init__(self) -> None:
        self.found: list[ConfigIssue] = []

    def add(self, variable: str, value: str, reason: str) -> None:
        self.found.append(ConfigIssue.at((variable,), f"{value!r}: {reason}"))


def parse_go_duration(text: str) -> float:
    """Seconds for Go `time.ParseDuration` syntax ("5s", "1m30s", "250ms", "1.5h", "0"); ValueError otherwise."""
    body = text[1:] if text[:1] in ("+", "-") else text
    sign = -1.0 if text[:1] == "-" else 1.0
    if body == "0":
        return 0.0
    if not body:
        raise ValueError("not a Go duration (e.g. 5s, 1m30s, 250ms)")
    total, pos = 0.0, 0
    while pos < len(body):
        match = _DURATION_PART.match(body, pos)
        if not match or not (match.group(1) or match.group(2)):
            raise ValueError("not a Go duration (e.g. 5s, 1m30s, 250ms)")
        number = float(f"{match.group(1) or 0}.{match.group(2) or 0}")
        total += number * _DURATION_UNITS[match.group(3)]
        pos = match.end()
    if total > _MAX_DURATION:
        raise ValueError("duration out of range")
    return sign * total


def parse_go_float(text: str) -> float:
    """A float as Go `strconv.ParseFloat(s, 64)` reads it (no spaces, no underscores); ValueError otherwise."""
    if _SPECIAL_FLOAT.fullmatch(text):
        return float(text.lower().replace("infinity", "inf"))
    if _HEX_FLOAT.fullmatch(text):
        value = float.fromhex(text)
    elif _DECIMAL.fullmatch(text):
        value = float(text)
    else:
        raise ValueError(f"{text!r} is not a number")
    if math.isinf(value):
        raise ValueError(f"{text!r} is out of range for a float64")
    return value


def parse_go_int(text: str) -> int:
    """An int as Go `strconv.Atoi` reads it on 64-bit platforms; ValueError otherwise."""
    if not _INT.fullmatch(text):
        raise ValueError("not an integer")
    value = int(text)
    if not -(2**63) <= value < 2**63:
        raise ValueError("out of range")
    return value


def _only_true(environ: Mapping[str, str], name: str, issues: _Issues) -> bool:
    """kubenurse's `os.Getenv(name) == "true"`; any value but "", "true" and "false" is refused."""
    value = environ.get(name, "")
    if value not in ("", "true", "false"):
        issues.add(name, value, 'kubenurse turns this on only for the exact string "true" (anything else, even '
                                '"True" or "1", leaves it off); set "true" or "false"')
    return value == "true"


def _unless_false(environ: Mapping[str, str], name: str, issues: _Issues) -> bool:
    """kubenurse's `os.Getenv(name) != "false"`; any value but "", "true" and "false" is refused."""
    value = environ.get(name, "")
    if value not in ("", "true", "false"):
        issues.add(name, value, 'kubenurse turns this off only for the exact string "false" (anything else, even '
                                '"False" or "0", leaves it on); set "true" or "false"')
    return value != "false"


def _duration(environ: Mapping[str, str], name: str, default: float, issues: _Issues,
              accept: Callable[[float], str | None]) -> float:
    if name not in environ:  # kubenurse uses LookupEnv: set but empty is a parse error
        return default
    try:
        seconds = parse_go_duration(environ[name])
    except ValueError as exc:
        issues.add(name, environ[name], str(exc))
        return default
    problem = accept(seconds)
    if problem:
        issues.add(name, environ[name], problem)
        return default
    return seconds


def _buckets(environ: Mapping[str, str], issues: _Issues) -> list[float] | None:
    text = environ.get("KUBENURSE_HISTOGRAM_BUCKETS", "")
    if not text:
        return None
    try:
        bounds = [parse_go_float(part) for part in text.split(",")]
    except ValueError as exc:
        issues.add("KUBENURSE_HISTOGRAM_BUCKETS", text, f"{exc} (a comma-separated list of numbers, no spaces)")
        return None
    if any(math.isnan(b) for b in bounds) or any(a >= b for a, b in itertools.pairwise(bounds)):
        issues.add("KUBENURSE_HISTOGRAM_BUCKETS", text, "bucket bounds must be numbers in strictly increasing order")
        return None
    return bounds


def _url(environ: Mapping[str, str], name: str, issues: _Issues) -> str | None:
    value = environ.get(name, "")
    if not value:
        return None
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        issues.add(name, value, "not an http:// or https:// URL with a host (kubenurse appends /alwayshappy to it)")
        return None
    return value


def _extra_checks(environ: Mapping[str, str], issues: _Issues) -> dict[str, str]:
    text = environ.get("KUBENURSE_EXTRA_CHECKS", "")
    checks: dict[str, str] = {}
    if not text:
        return checks
    for entry in text.split("|"):
        name, sep, url = entry.partition(":")
        if not sep:
            issues.add("KUBENURSE_EXTRA_CHECKS", entry, "an entry needs the form name:url (entries are separated "
                                                        "by |)")
        elif not name:
            issues.add("KUBENURSE_EXTRA_CHECKS", entry, "the name before ':' is empty")
        elif name in checks:
            issues.add("KUBENURSE_EXTRA_CHECKS", entry, f"the name {name!r} appears twice")
        else:
            checks[name] = url
    return checks


def _api_server_url(environ: Mapping[str, str], issues: _Issues) -> str | None:
    host = environ.get("KUBERNETES_SERVICE_HOST", "")
    port = environ.get("KUBERNETES_SERVICE_PORT", "")
    if not host and not port:
        return None  # outside a pod: the API server kubevigil's client uses
    if not host:
        issues.add("KUBERNETES_SERVICE_HOST", host, "empty while KUBERNETES_SERVICE_PORT is set")
        return None
    if not (port.isdigit() and 0 < int(port) < 65536):
        issues.add("KUBERNETES_SERVICE_PORT", port, "not a TCP port number")
        return None
    return f"https://{f'[{host}]' if ':' in host else host}:{port}"


def _file(environ: Mapping[str, str], name: str, issues: _Issues, needed_by: str = "") -> str | None:
    value = environ.get(name, "")
    if not value:
        if needed_by:
            issues.add(name, value, f"empty, but {needed_by}")
        return None
    if not Path(value).is_file():
        issues.add(name, value, "no such file")
        return None
    return value


def _extra_ca(environ: Mapping[str, str], issues: _Issues) -> str | None:
    path = _file(environ, "KUBENURSE_EXTRA_CA", issues)
    if path is not None:
        try:
            ssl.create_default_context().load_verify_locations(cafile=path)
        except (ssl.SSLError, OSError, ValueError) as exc:
            issues.add("KUBENURSE_EXTRA_CA", path, f"not a PEM CA certificate file ({exc.__class__.__name__})")
            return None
    return path


def _tls(environ: Mapping[str, str], listen: str, issues: _Issues) -> dict[str, Any]:
    if not _only_true(environ, "KUBENURSE_USE_TLS", issues):
        return {}
    needed = "KUBENURSE_USE_TLS=true needs a certificate and key"
    host = listen.rpartition(":")[0] or "0.0.0.0"
    return {"enabled": True, "listen": f"{host}:{TLS_PORT}",
            "cert_file": _file(environ, "KUBENURSE_CERT_FILE", issues, needed),
            "key_file": _file(environ, "KUBENURSE_CERT_KEY", issues, needed)}


def _me_check(environ: Mapping[str, str], name: str, url_variable: str, issues: _Issues,
              warnings: list[str]) -> str | None:
    """The URL of me_ingress / me_service, or None when the check is off or has no URL (with a warning)."""
    enabled = _unless_false(environ, f"KUBENURSE_CHECK_{name.upper()}", issues)
    url = _url(environ, url_variable, issues)
    if enabled and url is None and not environ.get(url_variable):
        warnings.append(f"{url_variable} is empty: kubenurse would fail {name} every round; kubevigil skips it "
                        f"(set KUBENURSE_CHECK_{name.upper()}=false to say so)")
    return url if enabled else None


def _neighbours(environ: Mapping[str, str], issues: _Issues, warnings: list[str]) -> dict[str, Any]:
    limit = 10
    text = environ.get("KUBENURSE_NEIGHBOUR_LIMIT", "")
    if text:
        try:
            limit = parse_go_int(text)
        except ValueError as exc:
            issues.add("KUBENURSE_NEIGHBOUR_LIMIT", text, f"{exc} (kubenurse's strconv.Atoi)")
    if limit < 0:
        warnings.append(f"KUBENURSE_NEIGHBOUR_LIMIT={text}: below 0 means no limit, as in kubenurse (written as 0)")
        limit = 0
    return {
        "enabled": _unless_false(environ, "KUBENURSE_CHECK_NEIGHBOURHOOD", issues),
        "namespace": environ.get("KUBENURSE_NAMESPACE") or "*",  # kubenurse: empty means every namespace
        "selector": environ.get("KUBENURSE_NEIGHBOUR_FILTER", ""),
        "limit": limit,
        "allow_unschedulable": _only_true(environ, "KUBENURSE_ALLOW_UNSCHEDULABLE", issues),
    }


def _histogram(environ: Mapping[str, str], issues: _Issues, warnings: list[str]) -> dict[str, Any]:
    buckets = _buckets(environ, issues)
    victoria = _only_true(environ, "KUBENURSE_VICTORIAMETRICS_HISTOGRAM", issues)
    if victoria and buckets is not None:
        warnings.append("KUBENURSE_HISTOGRAM_BUCKETS is ignored with KUBENURSE_VICTORIAMETRICS_HISTOGRAM=true "
                        "(vmrange buckets are fixed), as in kubenurse")
        buckets = None
    if environ.get("KUBENURSE_EXPOSE_METADATA") == "false":
        warnings.append("KUBENURSE_EXPOSE_METADATA=false: kubevigil's /metrics always has # HELP and # TYPE lines "
                        "(Prometheus reads both forms the same)")
    else:
        _only_true(environ, "KUBENURSE_EXPOSE_METADATA", issues)
    return {"buckets": buckets, "victoriametrics": victoria}


def _unknown_variables(environ: Mapping[str, str]) -> list[str]:
    known = [v for v in VARIABLES if v.startswith("KUBENURSE_")]
    warnings = []
    for name in sorted(environ):
        if name.startswith("KUBENURSE_") and name not in VARIABLES:
            close = difflib.get_close_matches(name, known, n=1)
            hint = f"; did you mean {close[0]}?" if close else ""
            warnings.append(f"{name} is not a variable kubenurse reads; ignored{hint}")
    return warnings


def from_environment(environ: Mapping[str, str]) -> tuple[dict[str, Any], list[str]]:
    """The native config for kubenurse's variables in `environ`, and warnings; ConfigError naming each bad one."""
    issues = _Issues()
    warnings = _unknown_variables(environ)
    listen = environ.get("KUBEVIGIL_LISTEN") or DEFAULT_LISTEN
    api_server: dict[str, Any] = {
        "direct": _unless_false(environ, "KUBENURSE_CHECK_API_SERVER_DIRECT", issues),
        "dns": _unless_false(environ, "KUBENURSE_CHECK_API_SERVER_DNS", issues),
        "url": _api_server_url(environ, issues),
    }
    if environ.get("KUBERNETES_SERVICE_DNS"):
        api_server["dns_name"] = environ["KUBERNETES_SERVICE_DNS"]
    insecure = _only_true(environ, "KUBENURSE_INSECURE", issues)
    if insecure:
        warnings.append("KUBENURSE_INSECURE=true: certificates are not checked, except on the API server checks, "
                        "which carry the service-account token and are always verified against the cluster CA")
    warnings += [f"{name} is set: kubevigil's nurse checks connect directly, without a proxy, to measure the "
                 "network itself" for name in PROXY_VARIABLES if environ.get(name)]
    nurse: dict[str, Any] = {
        "interval_seconds": _duration(environ, "KUBENURSE_CHECK_INTERVAL", 5.0, issues,
                                      lambda s: None if s > 0 else "the interval must be above zero"),
        "shutdown_seconds": _duration(environ, "KUBENURSE_SHUTDOWN_DURATION", 5.0, issues,
                                      lambda s: None if s >= 0 else "the duration must not be negative"),
        "api_server": api_server,
        "ingress_url": _me_check(environ, "me_ingress", "KUBENURSE_INGRESS_URL", issues, warnings),
        "service_url": _me_check(environ, "me_service", "KUBENURSE_SERVICE_URL", issues, warnings),
        "extra_checks": _extra_checks(environ, issues),
        "neighbours": _neighbours(environ, issues, warnings),
        "client": {"insecure": insecure, "extra_ca": _extra_ca(environ, issues),
                   "reuse_connections": _only_true(environ, "KUBENURSE_REUSE_CONNECTIONS", issues)},
        "tls": _tls(environ, listen, issues),
        "histogram": _histogram(environ, issues, warnings),
    }
    if issues.found:
        raise ConfigError(issues.found)
    return {"server": {"listen": listen}, "nurse": nurse}, warnings


def origin(loc: Loc, doc: dict[str, Any] | None = None) -> Loc | None:
    """The variable behind a native key path, for errors found while validating the translation."""
    best: tuple[int, str] | None = None
    for variable, native in VARIABLES.items():
        if native and loc[: len(native)] == native and (best is None or len(native) > best[0]):
            best = (len(native), variable)
    return (best[1],) if best else None


def load_environment(environ: Mapping[str, str], tables: Tables) -> Loaded:
    """Translate and validate: what `kubevigil run --role nurse` and `check-config --role nurse` use without a
    file. Every problem is one line naming the variable."""
    from kubevigil.config.defaults import load_environment as load

    return load("kubenurse", environ, tables)
