"""Every variable of kubenurse's env-vars.md, good and bad: the original's parsing, one clear line per bad value."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from kubevigil.catalog import tables
from kubevigil.config.importers.kubenurse import (
    VARIABLES,
    from_environment,
    load_environment,
    parse_go_duration,
    parse_go_float,
    parse_go_int,
)
from kubevigil.config.issues import ConfigError
from kubevigil.sim.certs import loopback_cert

ENV_VARS_MD = Path(__file__).parents[1] / "anchors" / "kubenurse" / "upstream" / "env-vars.md"


def nurse(env: dict[str, str]) -> dict[str, Any]:
    return from_environment(env)[0]["nurse"]


def warnings(env: dict[str, str]) -> list[str]:
    return from_environment(env)[1]


def error(env: dict[str, str]) -> str:
    with pytest.raises(ConfigError) as caught:
        load_environment(env, tables())
    return str(caught.value)


@pytest.fixture
def pem(tmp_path: Path) -> tuple[str, str]:
    cert = loopback_cert()
    crt, key = tmp_path / "tls.crt", tmp_path / "tls.key"
    crt.write_bytes(cert.cert_pem)
    key.write_bytes(cert.key_pem)
    return str(crt), str(key)


def test_the_table_covers_every_variable_of_env_vars_md() -> None:
    text = ENV_VARS_MD.read_text()
    listed = {line.split("`")[1] for line in text.splitlines() if line.startswith("| `")}
    assert listed <= set(VARIABLES), listed - set(VARIABLES)


def test_defaults_are_kubenurses() -> None:
    loaded = load_environment({"KUBENURSE_CHECK_ME_INGRESS": "false", "KUBENURSE_CHECK_ME_SERVICE": "false"}, tables())
    section = loaded.settings.nurse
    assert section.interval_seconds == 5 and section.shutdown_seconds == 5
    assert section.neighbours.limit == 10 and section.neighbours.namespace == "*"
    assert section.api_server.dns_name == "kubernetes.default.svc.cluster.local"
    assert section.api_server.direct and section.api_server.dns and section.neighbours.enabled
    assert not section.tls.enabled and not section.client.insecure and not section.client.reuse_connections
    assert section.histogram.buckets is None and not section.histogram.victoriametrics
    assert loaded.settings.server.listen == "0.0.0.0:8080"
    assert loaded.warnings == []


@pytest.mark.parametrize(("variable", "value", "key", "expected"), [
    ("KUBENURSE_CHECK_INTERVAL", "1m30s", "interval_seconds", 90.0),
    ("KUBENURSE_CHECK_INTERVAL", "250ms", "interval_seconds", 0.25),
    ("KUBENURSE_CHECK_INTERVAL", "1.5h", "interval_seconds", 5400.0),
    ("KUBENURSE_SHUTDOWN_DURATION", "0", "shutdown_seconds", 0.0),
    ("KUBENURSE_SHUTDOWN_DURATION", "10s", "shutdown_seconds", 10.0),
    ("KUBENURSE_INGRESS_URL", "https://kubenurse.example.com", "ingress_url", "https://kubenurse.example.com"),
    ("KUBENURSE_SERVICE_URL", "http://kubenurse.kube-nurse.svc.cluster.local:8080", "service_url",
     "http://kubenurse.kube-nurse.svc.cluster.local:8080"),
])
def test_good_values(variable: str, value: str, key: str, expected: Any) -> None:
    assert nurse({variable: value})[key] == expected


@pytest.mark.parametrize(("env", "path", "expected"), [
    ({"KUBENURSE_ALLOW_UNSCHEDULABLE": "true"}, ("neighbours", "allow_unschedulable"), True),
    ({"KUBENURSE_ALLOW_UNSCHEDULABLE": "false"}, ("neighbours", "allow_unschedulable"), False),
    ({"KUBENURSE_INSECURE": "true"}, ("client", "insecure"), True),
    ({"KUBENURSE_REUSE_CONNECTIONS": "true"}, ("client", "reuse_connections"), True),
    ({"KUBENURSE_VICTORIAMETRICS_HISTOGRAM": "true"}, ("histogram", "victoriametrics"), True),
    ({"KUBENURSE_HISTOGRAM_BUCKETS": ".0005,.001,0.1,1e1"}, ("histogram", "buckets"), [0.0005, 0.001, 0.1, 10.0]),
    ({"KUBENURSE_HISTOGRAM_BUCKETS": "0x1p-2,+Inf"}, ("histogram", "buckets"), [0.25, float("inf")]),
    ({"KUBENURSE_CHECK_API_SERVER_DIRECT": "false"}, ("api_server", "direct"), False),
    ({"KUBENURSE_CHECK_API_SERVER_DIRECT": "true"}, ("api_server", "direct"), True),
    ({"KUBENURSE_CHECK_API_SERVER_DNS": "false"}, ("api_server", "dns"), False),
    ({"KUBENURSE_CHECK_NEIGHBOURHOOD": "false"}, ("neighbours", "enabled"), False),
    ({"KUBENURSE_CHECK_ME_INGRESS": "false", "KUBENURSE_INGRESS_URL": "https://x.example"}, ("ingress_url",), None),
    ({"KUBENURSE_CHECK_ME_SERVICE": "false", "KUBENURSE_SERVICE_URL": "http://x:8080"}, ("service_url",), None),
    ({"KUBERNETES_SERVICE_HOST": "10.96.0.1", "KUBERNETES_SERVICE_PORT": "443"}, ("api_server", "url"),
     "https://10.96.0.1:443"),
    ({"KUBERNETES_SERVICE_HOST": "fd00::1", "KUBERNETES_SERVICE_PORT": "443"}, ("api_server", "url"),
     "https://[fd00::1]:443"),
    ({"KUBERNETES_SERVICE_DNS": "kubernetes.default.svc.corp.local"}, ("api_server", "dns_name"),
     "kubernetes.default.svc.corp.local"),
    ({"KUBERNETES_SERVICE_DNS": ""}, ("api_server", "dns_name"), None),  # empty: the default (not written)
    ({"KUBENURSE_NAMESPACE": "kube-nurse"}, ("neighbours", "namespace"), "kube-nurse"),
    ({"KUBENURSE_NAMESPACE": ""}, ("neighbours", "namespace"), "*"),  # kubenurse: every namespace
    ({"KUBENURSE_NEIGHBOUR_FILTER": "app.kubernetes.io/name=kubenurse"}, ("neighbours", "selector"),
     "app.kubernetes.io/name=kubenurse"),
    ({"KUBENURSE_NEIGHBOUR_LIMIT": "3"}, ("neighbours", "limit"), 3),
    ({"KUBENURSE_NEIGHBOUR_LIMIT": "+0"}, ("neighbours", "limit"), 0),
    ({"KUBENURSE_NEIGHBOUR_LIMIT": "-1"}, ("neighbours", "limit"), 0),
    ({"KUBENURSE_EXTRA_CHECKS": "google:https://www.google.ch/|cloudflare:https://www.cloudflare.com/"},
     ("extra_checks",), {"google": "https://www.google.ch/", "cloudflare": "https://www.cloudflare.com/"}),
])
def test_good_variables(env: dict[str, str], path: tuple[str, ...], expected: Any) -> None:
    value: Any = nurse(env)
    for key in path:
        value = value.get(key) if isinstance(value, dict) else None
    assert value == expected


def test_tls_with_certificate_and_listen_address(pem: tuple[str, str]) -> None:
    crt, key = pem
    env = {"KUBENURSE_USE_TLS": "true", "KUBENURSE_CERT_FILE": crt, "KUBENURSE_CERT_KEY": key,
           "KUBEVIGIL_LISTEN": "127.9.9.9:8080", "KUBENURSE_CHECK_ME_INGRESS": "false",
           "KUBENURSE_CHECK_ME_SERVICE": "false"}
    settings = load_environment(env, tables()).settings
    assert settings.server.listen == "127.9.9.9:8080"
    assert settings.nurse.tls.enabled and settings.nurse.tls.listen == "127.9.9.9:8443"
    assert str(settings.nurse.tls.cert_file) == crt


def test_extra_ca(pem: tuple[str, str]) -> None:
    assert nurse({"KUBENURSE_EXTRA_CA": pem[0]})["client"]["extra_ca"] == pem[0]


@pytest.mark.parametrize(("env", "variable", "reason"), [
    ({"KUBENURSE_CHECK_INTERVAL": "5"}, "KUBENURSE_CHECK_INTERVAL", "not a Go duration"),
    ({"KUBENURSE_CHECK_INTERVAL": ""}, "KUBENURSE_CHECK_INTERVAL", "not a Go duration"),  # LookupEnv: set
    ({"KUBENURSE_CHECK_INTERVAL": "5 s"}, "KUBENURSE_CHECK_INTERVAL", "not a Go duration"),
    ({"KUBENURSE_CHECK_INTERVAL": "0s"}, "KUBENURSE_CHECK_INTERVAL", "above zero"),
    ({"KUBENURSE_CHECK_INTERVAL": "-5s"}, "KUBENURSE_CHECK_INTERVAL", "above zero"),
    ({"KUBENURSE_SHUTDOWN_DURATION": "soon"}, "KUBENURSE_SHUTDOWN_DURATION", "not a Go duration"),
    ({"KUBENURSE_SHUTDOWN_DURATION": "-1s"}, "KUBENURSE_SHUTDOWN_DURATION", "negative"),
    ({"KUBENURSE_USE_TLS": "True"}, "KUBENURSE_USE_TLS", 'exact string "true"'),
    ({"KUBENURSE_USE_TLS": "true"}, "KUBENURSE_CERT_FILE", "needs a certificate"),
    ({"KUBENURSE_USE_TLS": "true", "KUBENURSE_CERT_FILE": "/nonexistent.crt"}, "KUBENURSE_CERT_FILE",
     "no such file"),
    ({"KUBENURSE_USE_TLS": "true"}, "KUBENURSE_CERT_KEY", "needs a certificate"),
    ({"KUBENURSE_ALLOW_UNSCHEDULABLE": "1"}, "KUBENURSE_ALLOW_UNSCHEDULABLE", 'exact string "true"'),
    ({"KUBENURSE_EXPOSE_METADATA": "yes"}, "KUBENURSE_EXPOSE_METADATA", 'exact string "true"'),
    ({"KUBENURSE_HISTOGRAM_BUCKETS": "0.1, 0.5"}, "KUBENURSE_HISTOGRAM_BUCKETS", "not a number"),
    ({"KUBENURSE_HISTOGRAM_BUCKETS": "0.5,0.1"}, "KUBENURSE_HISTOGRAM_BUCKETS", "strictly increasing"),
    ({"KUBENURSE_HISTOGRAM_BUCKETS": "1,NaN"}, "KUBENURSE_HISTOGRAM_BUCKETS", "strictly increasing"),
    ({"KUBENURSE_HISTOGRAM_BUCKETS": "1e400"}, "KUBENURSE_HISTOGRAM_BUCKETS", "out of range"),
    ({"KUBENURSE_HISTOGRAM_BUCKETS": "1_000"}, "KUBENURSE_HISTOGRAM_BUCKETS", "not a number"),
    ({"KUBENURSE_VICTORIAMETRICS_HISTOGRAM": "on"}, "KUBENURSE_VICTORIAMETRICS_HISTOGRAM", 'exact string "true"'),
    ({"KUBENURSE_INGRESS_URL": "kubenurse.example.com"}, "KUBENURSE_INGRESS_URL", "not an http"),
    ({"KUBENURSE_SERVICE_URL": "ftp://x"}, "KUBENURSE_SERVICE_URL", "not an http"),
    ({"KUBERNETES_SERVICE_HOST": "10.96.0.1", "KUBERNETES_SERVICE_PORT": "https"}, "KUBERNETES_SERVICE_PORT",
     "not a TCP port"),
    ({"KUBERNETES_SERVICE_PORT": "443"}, "KUBERNETES_SERVICE_HOST", "empty while"),
    ({"KUBERNETES_SERVICE_DNS": "bad name!"}, "KUBERNETES_SERVICE_DNS", "not a valid host name"),
    ({"KUBENURSE_NAMESPACE": "Not_A_Namespace"}, "KUBENURSE_NAMESPACE", "not a valid namespace"),
    ({"KUBENURSE_NEIGHBOUR_FILTER": "app in (a"}, "KUBENURSE_NEIGHBOUR_FILTER", "label selector"),
    ({"KUBENURSE_NEIGHBOUR_FILTER": "app=kube nurse"}, "KUBENURSE_NEIGHBOUR_FILTER", "label selector"),
    ({"KUBENURSE_NEIGHBOUR_LIMIT": "ten"}, "KUBENURSE_NEIGHBOUR_LIMIT", "not an integer"),
    ({"KUBENURSE_NEIGHBOUR_LIMIT": "10 "}, "KUBENURSE_NEIGHBOUR_LIMIT", "not an integer"),
    ({"KUBENURSE_NEIGHBOUR_LIMIT": "99999999999999999999"}, "KUBENURSE_NEIGHBOUR_LIMIT", "out of range"),
    ({"KUBENURSE_CHECK_API_SERVER_DIRECT": "False"}, "KUBENURSE_CHECK_API_SERVER_DIRECT", 'exact string "false"'),
    ({"KUBENURSE_CHECK_API_SERVER_DNS": "0"}, "KUBENURSE_CHECK_API_SERVER_DNS", 'exact string "false"'),
    ({"KUBENURSE_CHECK_ME_INGRESS": "no"}, "KUBENURSE_CHECK_ME_INGRESS", 'exact string "false"'),
    ({"KUBENURSE_CHECK_ME_SERVICE": "off"}, "KUBENURSE_CHECK_ME_SERVICE", 'exact string "false"'),
    ({"KUBENURSE_CHECK_NEIGHBOURHOOD": "FALSE"}, "KUBENURSE_CHECK_NEIGHBOURHOOD", 'exact string "false"'),
    ({"KUBENURSE_EXTRA_CHECKS": "google"}, "KUBENURSE_EXTRA_CHECKS", "name:url"),
    ({"KUBENURSE_EXTRA_CHECKS": "a:http://x|"}, "KUBENURSE_EXTRA_CHECKS", "name:url"),
    ({"KUBENURSE_EXTRA_CHECKS": ":http://x"}, "KUBENURSE_EXTRA_CHECKS", "empty"),
    ({"KUBENURSE_EXTRA_CHECKS": "a:http://x|a:http://y"}, "KUBENURSE_EXTRA_CHECKS", "twice"),
    ({"KUBENURSE_EXTRA_CHECKS": "a:not-a-url"}, "KUBENURSE_EXTRA_CHECKS", "not an http"),
    ({"KUBENURSE_EXTRA_CHECKS": "me_service:http://x"}, "KUBENURSE_EXTRA_CHECKS", "built in"),
    ({"KUBENURSE_EXTRA_CA": "/nonexistent/ca.pem"}, "KUBENURSE_EXTRA_CA", "no such file"),
    ({"KUBENURSE_INSECURE": "yes"}, "KUBENURSE_INSECURE", 'exact string "true"'),
    ({"KUBENURSE_REUSE_CONNECTIONS": "1"}, "KUBENURSE_REUSE_CONNECTIONS", 'exact string "true"'),
    ({"KUBEVIGIL_LISTEN": "8080"}, "KUBEVIGIL_LISTEN", "host:port"),
])
def test_bad_values_name_the_variable(env: dict[str, str], variable: str, reason: str) -> None:
    env = {"KUBENURSE_CHECK_ME_INGRESS": "false", "KUBENURSE_CHECK_ME_SERVICE": "false", **env}
    lines = error(env).splitlines()
    ours = [line for line in lines if line.startswith(variable + ":")]
    assert ours, lines
    assert reason in ours[0], ours
    assert "Traceback" not in "\n".join(lines)


def test_every_bad_variable_is_reported_at_once() -> None:
    lines = error({"KUBENURSE_CHECK_INTERVAL": "x", "KUBENURSE_NEIGHBOUR_LIMIT": "y", "KUBENURSE_USE_TLS": "1"})
    assert sorted(line.split(":")[0] for line in lines.splitlines()) == [
        "KUBENURSE_CHECK_INTERVAL", "KUBENURSE_NEIGHBOUR_LIMIT", "KUBENURSE_USE_TLS"]


def test_extra_ca_that_is_not_pem(tmp_path: Path) -> None:
    bad = tmp_path / "ca.pem"
    bad.write_text("not a certificate")
    assert "not a PEM" in error({"KUBENURSE_EXTRA_CA": str(bad)})


def test_warnings_for_what_kubevigil_does_differently() -> None:
    found = warnings({"KUBENURSE_EXPOSE_METADATA": "false", "KUBENURSE_INSECURE": "true",
                      "KUBENURSE_VICTORIAMETRICS_HISTOGRAM": "true", "KUBENURSE_HISTOGRAM_BUCKETS": "1,2",
                      "KUBENURSE_NEIGHBOR_FILTER": "app=x", "HTTPS_PROXY": "http://proxy.example:3128"})
    text = "\n".join(found)
    assert "me_ingress every round" in text and "me_service every round" in text
    assert "always has # HELP" in text
    assert "always verified against the cluster CA" in text
    assert "KUBENURSE_HISTOGRAM_BUCKETS is ignored" in text
    assert "did you mean KUBENURSE_NEIGHBOUR_FILTER?" in text
    assert "HTTPS_PROXY is set" in text


def test_go_parsers() -> None:
    assert parse_go_duration("1h2m3.5s") == 3723.5
    assert parse_go_duration("-1.5m") == -90.0
    assert parse_go_duration("500us") == parse_go_duration("500µs") == 0.0005
    for bad in ("", "1", "1d", "s", ".s", "1s2", "3000000h"):
        with pytest.raises(ValueError):
            parse_go_duration(bad)
    assert parse_go_float("Inf") == parse_go_float("+infinity") == float("inf")
    assert parse_go_float(".5e-1") == 0.05 and parse_go_float("-0x1.8p1") == -3.0
    for bad in ("", " 1", "1,5", "0x1.8", "1e"):
        with pytest.raises(ValueError):
            parse_go_float(bad)
    assert parse_go_int("-007") == -7
    for bad in ("", "1.0", "0x10", "1_000", " 1"):
        with pytest.raises(ValueError):
            parse_go_int(bad)
