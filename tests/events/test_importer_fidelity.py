"""event-exporter files load as the original loads them: detection, env expansion, Go bools, RE2, every error."""

from __future__ import annotations

import base64
import subprocess
import sys
import warnings
from pathlib import Path

import pytest
from elastic_transport.client_utils import parse_cloud_id
from prometheus_client import CollectorRegistry

from kubevigil.catalog import load
from kubevigil.config import ConfigError, normalized
from kubevigil.core.signals import Record
from kubevigil.roles.events.config import Rule
from kubevigil.roles.events.routing import CompiledRule, EventView
from kubevigil.sinks.elasticsearch.params import cloud_url
from kubevigil.sinks.registry import SINKS
from kubevigil.sinks.sink import SinkContext
from tests.events.endpoints import with_sink
from tests.fakes.search_server import FakeSearchServer


def write(tmp_path: Path, text: str, name: str = "config.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def errors(path: Path, **kwargs: object) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load(path, **kwargs)  # type: ignore[arg-type]
    return str(caught.value).splitlines()


@pytest.mark.parametrize("text", [
    "kubeQPS: 100\nkubeBurst: 500\n",
    "maxEventAgeSeconds: 60\n",
    "receivers:\n  - name: dump\n    stdout: {}\n",
    "route:\n  routes:\n    - match: [{receiver: dump}]\nreceivers:\n",
    "logLevel: info\nlogFormat: json\n",
])
def test_partial_files_are_recognised_by_any_key_only_event_exporter_uses(tmp_path: Path, text: str) -> None:
    path = write(tmp_path, text)
    try:
        assert load(path, environ={}).format == "event-exporter"
    except ConfigError as exc:  # a route naming a receiver that is not defined: kubevigil's stricter check
        assert all("no sink named 'dump'" in line for line in str(exc).splitlines()), exc


def test_an_ambiguous_file_names_the_formats_and_how_to_force_one(tmp_path: Path) -> None:
    path = write(tmp_path, "route: {}\nsinks: {}\n")
    assert errors(path, environ={}) == [
        (f"{path}: cannot tell which format this file is: it has keys of event-exporter and native (formats "
        "considered: kubestatus2cloudwatch, event-exporter, native); choose one with --format event-exporter|native")]
    with pytest.raises(ConfigError, match="sinks: unknown key 'sinks'"):
        load(path, format="event-exporter", environ={})


def test_a_configmap_manifest_is_read_from_its_config_yaml(tmp_path: Path) -> None:
    manifest = ("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: event-exporter-cfg\ndata:\n  config.yaml: |\n"
                "    logLevel: warn\n    route:\n      routes:\n        - match:\n            - receiver: dump\n"
                "    receivers:\n      - name: dump\n        stdout: {colour: red}\n")
    path = write(tmp_path, manifest)
    assert errors(path, environ={}) == [(f"{path}:14: receivers.0.stdout.colour: unknown key 'colour'; "
                                        "stdout receiver keys: deDot, layout")]
    loaded = load(write(tmp_path, manifest.replace("{colour: red}", "{}"), "ok.yaml"), environ={})
    assert loaded.format == "event-exporter"
    assert f'{tmp_path / "ok.yaml"} is a ConfigMap manifest: using its data."config.yaml"' in loaded.warnings


def test_every_receiver_error_is_reported_at_its_own_line_and_path(tmp_path: Path) -> None:
    path = write(tmp_path, "receivers:\n  - name: a\n    webhook:\n      endpoint: http://127.0.0.1:1\n"
                           "      endpont: x\n  - name: b\n    sns:\n      topicArn: t\n"
                           "  - name: c\n    elasticsearch:\n      hosts: [http://127.0.0.1:1]\n      tls: {certFile: c.pem}\n")
    assert errors(path, environ={}) == [
        f"{path}:5: receivers.0.webhook.endpont: unknown key 'endpont'; did you mean 'endpoint'?",
        f"{path}:8: receivers.1.sns.topicArn: unknown key 'topicArn'; did you mean 'topicARN'?",
        (f"{path}:12: receivers.2.elasticsearch.tls: cert_file: client certificates are not supported by the "
        "elasticsearch sink"),
    ]


def test_native_errors_in_a_receiver_point_at_the_original_key(tmp_path: Path) -> None:
    path = write(tmp_path, "receivers:\n  - name: q\n    sqs:\n      region: eu-west-1\n      queueName: 5\n")
    assert errors(path, environ={}) == [f"{path}:5: receivers.0.sqs.queueName: expected a string; got 5"]


@pytest.mark.parametrize(("text", "environ", "expected"), [
    ("leaderElection:\n  enabled: false\n", {}, False),
    ("leaderElection:\n  enabled: true\n", {}, True),
    ("leaderElection:\n  enabled: ${LE}\n", {"LE": "false"}, False),
    ("leaderElection:\n  enabled: $LE\n", {"LE": "true"}, True),
])
def test_booleans_are_read_as_go_reads_them(tmp_path: Path, text: str, environ: dict[str, str], expected: bool) -> None:
    assert load(write(tmp_path, text), environ=environ).settings.leader_election.enabled is expected


@pytest.mark.parametrize("text", ['leaderElection:\n  enabled: "false"\n', 'leaderElection:\n  enabled: "${LE}"\n'])
def test_a_quoted_boolean_is_a_type_error_as_in_go(tmp_path: Path, text: str) -> None:
    path = write(tmp_path, text)
    assert errors(path, environ={"LE": "false"}) == [
        (f"{path}:2: leaderElection.enabled: expected true or false; got 'false' (event-exporter decodes this key "
        'into a Go bool, so a string such as "false" is an error there too)')]


def test_receiver_booleans_are_checked_even_in_receivers_kubevigil_does_not_have(tmp_path: Path) -> None:
    path = write(tmp_path, "receivers:\n  - name: p\n    pipe:\n      path: /dev/stdout\n      deDot: true|false\n"
                           "  - name: f\n    file:\n      path: /tmp/x\n      deDot: 'yes'\n")
    lines = errors(path, environ={})
    assert [line.split(": expected")[0] for line in lines] == [f"{path}:5: receivers.0.pipe.deDot",
                                                               f"{path}:9: receivers.1.file.deDot"]


def test_dollar_variables_expand_as_go_os_expandenv(tmp_path: Path) -> None:
    path = write(tmp_path, "receivers:\n  - name: alerts\n    opsgenie:\n      apiKey: $OPSGENIE_KEY\n"
                           "      message: 'cost $$5 ${CURRENCY} ${UNSET:-default} $1 end$'\n")
    loaded = load(path, environ={"OPSGENIE_KEY": "k-1", "CURRENCY": "EUR"})
    params = loaded.settings.sinks["alerts"].params
    assert params.api_key.get_secret_value() == "k-1"  # type: ignore[attr-defined]
    assert params.message == "cost 5 EUR   end$"  # type: ignore[attr-defined]  # Go: $$ and $1 are variables too
    assert "line 5: environment variable UNSET:-default is not set; like event-exporter (Go's os.ExpandEnv), " \
           "kubevigil reads it as an empty string" in loaded.warnings
    assert any(w.startswith("line 4: environment variable OPSGENIE_KEY") for w in
               load(path, environ={"CURRENCY": "EUR"}).warnings)


def test_native_files_warn_about_dollar_names_without_braces(tmp_path: Path) -> None:
    path = write(tmp_path, "cluster:\n  name: $CLUSTER\nserver: {listen: '${LISTEN:-127.0.0.1:0}'}\n")
    loaded = load(path, environ={})
    assert loaded.settings.server.listen == "127.0.0.1:0" and loaded.settings.cluster.name == "$CLUSTER"
    assert loaded.warnings == [("cluster.name: $CLUSTER looks like an environment variable, but kubevigil's format "
                               "expands only ${CLUSTER} (write $$CLUSTER to keep the text and silence this)")]


def view(**fields: object) -> EventView:
    event = {"message": "", "reason": "", "type": "", "involvedObject": {}, "metadata": {}} | fields
    return EventView.of(event, 1)


@pytest.mark.parametrize(("pattern", "matching", "not_matching"), [
    (r"^Back\z", "Back", "Back\n"),
    (r"^\pL+$", "Größe", "size1"),
    (r"^[[:digit:]]+$", "2024", "20x"),
    (r"(?i)backoff", "BackOff", "Back-off"),
])
def test_rules_use_go_re2_syntax_and_semantics(pattern: str, matching: str, not_matching: str) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # Python's re warns (FutureWarning) on [[:digit:]]
        rule = CompiledRule.of(Rule(reason=pattern))
    assert rule.matches(view(reason=matching))
    assert not rule.matches(view(reason=not_matching))


def test_patterns_re2_refuses_are_load_errors_and_nothing_reaches_stderr(tmp_path: Path) -> None:
    path = write(tmp_path, "route:\n  routes:\n    - match:\n        - reason: '(?=Back)Off'\n          "
                           "namespace: '[[:digit:]]'\n          receiver: d\nreceivers:\n  - name: d\n    stdout: {}\n")
    result = subprocess.run([sys.executable, "-m", "kubevigil.cli", "check-config", str(path)],
                            capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        (f"{path}:4: route.routes.0.match.0.reason: '(?=Back)Off' is not a valid regular expression (RE2 syntax, "
        "as Go's: invalid perl operator: (?=); event-exporter never matches it")]


def cloud_id(decoded: str) -> str:
    return "prod:" + base64.b64encode(decoded.encode()).decode()


@pytest.mark.parametrize("decoded", ["us-east-1.aws.found.io$abc123$kib", "eu.example.com:9243$es1$", "h$u"])
def test_cloud_ids_decode_as_the_elasticsearch_client_decodes_them(decoded: str) -> None:
    ref = parse_cloud_id(cloud_id(decoded))
    assert ref.es_address is not None
    assert cloud_url(cloud_id(decoded)) == f"https://{ref.es_address[0]}:{ref.es_address[1]}"


def test_cloud_id_loads_and_a_bad_one_or_one_beside_hosts_is_an_error(tmp_path: Path) -> None:
    good = write(tmp_path, f"receivers:\n  - name: es\n    elasticsearch:\n      cloudID: {cloud_id('x.io$u1$k')}\n")
    params = load(good, environ={}).settings.sinks["es"].params
    assert params.addresses() == ["https://u1.x.io:443"]  # type: ignore[attr-defined]
    bad = write(tmp_path, "receivers:\n  - name: es\n    elasticsearch:\n      hosts: [http://127.0.0.1:9200]\n"
                          f"      cloudID: {cloud_id('x.io$u1$k')}\n  - name: b\n    elasticsearch:\n"
                          "      cloudID: nonsense\n", "bad.yaml")
    assert errors(bad, environ={}) == [
        f"{bad}:3: receivers.0.elasticsearch: give hosts or cloud_id, not both (the Elasticsearch clients refuse both too)",
        (f"{bad}:8: receivers.1.elasticsearch.cloudID: cloud_id: not an Elastic Cloud id (expected name:base64 of "
        "host$es-uuid$kibana-uuid)"),
    ]


async def test_elasticsearch_headers_are_sent_on_every_request_and_masked(tmp_path: Path) -> None:
    path = write(tmp_path, "receivers:\n  - name: es\n    elasticsearch:\n      hosts: [http://127.0.0.1:9]\n"
                           "      headers:\n        X-Scope-OrgID: team-a\n")
    settings = load(path, environ={}).settings
    assert normalized(settings)["sinks"]["es"]["elasticsearch"]["headers"] == {"X-Scope-OrgID": "***"}
    with FakeSearchServer("elasticsearch") as search:
        settings = with_sink(settings, "es", hosts=[search.url])
        spec = SINKS["elasticsearch"]
        ctx = SinkContext(name="es", cluster_name="c", state_dir=tmp_path, registry=CollectorRegistry())
        sink = spec.build(settings.sinks["es"].params, ctx)
        await sink.start()
        try:
            assert await sink.send([Record("uid-1", 1_763_800_000.0, {"message": "m"})]) == []
        finally:
            await sink.close()
        assert search.state.request_headers
        assert all({k.lower(): v for k, v in h.items()}.get("x-scope-orgid") == "team-a"
                   for h in search.state.request_headers)
