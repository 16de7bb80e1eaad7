"""Secrets are marked on the models and masked in every output: the redaction rules, every sink through
check-config, and what a config error may quote."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import types
import typing
from pathlib import Path

import pytest
import yaml
from pydantic import BaseModel

from kubevigil.catalog import load, tables
from kubevigil.config import ConfigError, normalized
from kubevigil.config.settings import settings_model
from kubevigil.core import secrets
from kubevigil.core.secrets import looks_secret, mask_url_path, remember, scrub, scrub_value

# Every value below must never be printed; each sink holds some, literally or through a secret-named variable.
ENV = {
    "WEBHOOK_TOKEN": "wh-bearer-7f3a9c",
    "SLACK_BOT_TOKEN": "xoxb-1111-2222-slacktoken",
    "OPSGENIE_API_KEY": "og-key-5b6c7d8e",
    "DB_PASSWORD": "pg-pass-q1w2e3",
    "CHANNEL_SECRET": "hidden-channel-9z8y",
    "PLAIN_REGION": "eu-west-1",
}
LITERALS = [
    "hdr-api-key-4d5e6f", "url-pass-0a1b2c", "slack-path-3t4u5v", "teams-path-6w7x8y", "loki-url-pass-1q2w",
    "loki-basic-pass-3e4r", "loki-hdr-secret-5t6y", "os-url-pass-7u8i", "os-basic-pass-9o0p", "os-api-key-1a2s",
    "es-hdr-secret-3d4f", "es-api-key-5g6h", "aws-url-pass-7j8k", "sqs-query-secret-9l0z", "proxy-path-secret-2x3c",
    "tenant-path-secret-4v5b", "layout-secret-6n7m",
]
SECRETS = [*LITERALS, *(v for k, v in ENV.items() if k != "PLAIN_REGION")]
AWS = "http://aws-user:aws-url-pass-7j8k@127.0.0.1:9"

CONFIG = {
    "cluster": {"name": "c"},
    "sinks": {
        "hook": {"webhook": {
            "endpoint": "https://admin:url-pass-0a1b2c@hooks.example.com/in/x?token=${WEBHOOK_TOKEN}&page=2",
            "headers": {"X-Auth": "Bearer ${WEBHOOK_TOKEN}", "X-Api-Key": "hdr-api-key-4d5e6f",
                        "X-Trace": "not-secret-but-a-header"}}},
        "slack-hook": {"webhook": {"endpoint": "https://hooks.slack.com/services/T0/B0/slack-path-3t4u5v"}},
        "slack": {"slack": {"token": "${SLACK_BOT_TOKEN}", "channel": "${CHANNEL_SECRET}",
                            "api_url": "https://slack-proxy.example.com/api/proxy-path-secret-2x3c"}},
        "teams": {"teams": {"endpoint": "https://acme.webhook.office.com/webhookb2/teams-path-6w7x8y"}},
        "opsgenie": {"opsgenie": {"api_key": "${OPSGENIE_API_KEY}"}},
        "loki": {"loki": {"url": "https://loki:loki-url-pass-1q2w@loki.example.com/tenant-path-secret-4v5b",
                          "headers": {"X-Token": "loki-hdr-secret-5t6y"}}},
        "loki-basic": {"loki": {"url": "https://loki.example.com",
                                "basic_auth": {"username": "lokiuser", "password": "loki-basic-pass-3e4r"}}},
        "search": {"opensearch": {"hosts": ["https://os:os-url-pass-7u8i@search.example:443"],
                                  "basic_auth": {"username": "osuser", "password": "os-basic-pass-9o0p"},
                                  "api_key": "os-api-key-1a2s"}},
        "elastic": {"elasticsearch": {"hosts": ["https://es.example:9200"], "api_key": "es-api-key-5g6h",
                                      "headers": {"Authorization": "ApiKey es-hdr-secret-3d4f"}}},
        "syslog": {"syslog": {"address": "127.0.0.1:514"}},
        "sns": {"sns": {"topic_arn": "arn:aws:sns:eu-west-1:1:t", "endpoint_url": AWS, "region": "${PLAIN_REGION}"}},
        "sqs": {"sqs": {"queue_url": "https://sqs.eu-west-1.amazonaws.com/1/q?token=sqs-query-secret-9l0z",
                        "endpoint_url": AWS}},
        "kinesis": {"kinesis": {"stream_name": "s", "endpoint_url": AWS}},
        "firehose": {"firehose": {"delivery_stream_name": "f", "endpoint_url": AWS}},
        "bus": {"eventbridge": {"source": "kubevigil", "detail_type": "event", "endpoint_url": AWS}},
        "logs": {"cloudwatch_logs": {"log_group_name": "g", "endpoint_url": AWS}},
        "cw": {"cloudwatch": {"namespace": "NS", "endpoint_url": AWS}},
        "emf": {"emf": {"namespace": "NS"}},
        "prom": {"prometheus": {}},
        "out": {"stdout": {"layout": {"password": "layout-secret-6n7m", "db": "${DB_PASSWORD}"}}},
        "file": {"file": {"path": "/tmp/kubevigil-events.jsonl", "layout": {"message": "{{ message }}"}}},
    },
}


def every_sink_config(tmp_path: Path) -> Path:
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(CONFIG))
    return path


def leaked(text: str) -> list[str]:
    """The secrets (and the basic-auth header values made from them) found in `text`."""
    basic = [base64.b64encode(p.encode()).decode() for p in ("admin:url-pass-0a1b2c", "lokiuser:loki-basic-pass-3e4r",
                                                             "osuser:os-basic-pass-9o0p")]
    return [s for s in [*SECRETS, *basic] if s in text]


def test_every_sink_type_is_covered() -> None:
    assert {next(iter(entry)) for entry in CONFIG["sinks"].values() if next(iter(entry)) != "delivery"} == set(
        tables().sinks)


def test_check_config_shows_no_secret_of_any_sink(tmp_path: Path) -> None:
    result = subprocess.run([sys.executable, "-m", "kubevigil.cli", "check-config", str(every_sink_config(tmp_path))],
                            capture_output=True, text=True, timeout=60, env={**os.environ, **ENV})
    assert result.returncode == 0, result.stderr
    assert leaked(result.stdout + result.stderr) == []
    sinks = yaml.safe_load(result.stdout)["sinks"]
    # what the operator needs to see stays: hosts, ports, the non-secret values
    assert sinks["hook"]["webhook"]["endpoint"] == "https://***@hooks.example.com/***"
    assert sinks["hook"]["webhook"]["headers"] == {"X-Auth": "***", "X-Api-Key": "***", "X-Trace": "***"}
    assert sinks["slack-hook"]["webhook"]["endpoint"] == "https://hooks.slack.com/***"
    assert sinks["slack"]["slack"] == {**sinks["slack"]["slack"], "token": "***", "channel": "***",
                                       "api_url": "https://slack-proxy.example.com/***"}
    assert sinks["teams"]["teams"]["endpoint"] == "https://acme.webhook.office.com/***"
    assert sinks["opsgenie"]["opsgenie"]["api_url"] == "https://api.opsgenie.com"  # nothing after the host
    assert sinks["loki"]["loki"]["url"] == "https://***@loki.example.com/***"
    assert sinks["search"]["opensearch"]["hosts"] == ["https://***@search.example:443"]
    assert sinks["search"]["opensearch"]["basic_auth"] == {"username": "osuser", "password": "***"}
    assert sinks["elastic"]["elasticsearch"]["hosts"] == ["https://es.example:9200"]
    assert sinks["sqs"]["sqs"]["queue_url"] == "https://sqs.eu-west-1.amazonaws.com/1/q?token=***"
    assert sinks["cw"]["cloudwatch"]["endpoint_url"] == "http://***@127.0.0.1:9"
    assert sinks["sns"]["sns"]["region"] == "eu-west-1"  # from a variable whose name is not a secret's
    assert sinks["out"]["stdout"]["layout"] == {"password": "***", "db": "***"}
    assert sinks["file"]["file"]["layout"] == {"message": "{{ message }}"}


def test_the_secrets_still_reach_the_code_that_uses_them(tmp_path: Path) -> None:
    sinks = load(every_sink_config(tmp_path), environ=ENV).settings.sinks
    assert sinks["hook"].params.headers["X-Auth"].get_secret_value() == "Bearer wh-bearer-7f3a9c"  # type: ignore[attr-defined]
    assert sinks["slack"].params.channel == "hidden-channel-9z8y"  # type: ignore[attr-defined]
    assert sinks["teams"].params.endpoint.endswith("/teams-path-6w7x8y")  # type: ignore[attr-defined]


def test_event_exporter_files_mask_what_their_expansion_brought_in(tmp_path: Path) -> None:
    path = tmp_path / "event-exporter.yaml"
    path.write_text(yaml.safe_dump({
        "route": {"routes": [{"match": [{"receiver": "hook"}]}]},
        "receivers": [{"name": "hook", "webhook": {"endpoint": "http://receiver.example/$WEBHOOK_TOKEN",
                                                   "headers": {"X-Team": "$CHANNEL_SECRET"}}}],
    }))
    view = json.dumps(normalized(load(path, environ=ENV).settings))
    assert leaked(view) == []
    assert "http://receiver.example/***" in view


def test_credentials_in_the_url_and_a_header_are_one_too_many(tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump({"sinks": {
        "hook": {"webhook": {"endpoint": "https://u:url-pass-0a1b2c@h.example/", "headers": {"authorization": "x"}}},
        "loki": {"loki": {"url": "https://l.example", "headers": {"Authorization": "y"},
                          "basic_auth": {"username": "u", "password": "loki-basic-pass-3e4r"}}},
    }}))
    with pytest.raises(ConfigError) as error:
        load(path, environ={})
    lines = str(error.value).splitlines()
    assert [line.split(": ", 2)[1] for line in lines] == ["sinks.hook.webhook", "sinks.loki.loki"]
    assert "not credentials in the URL and an Authorization header" in lines[0]
    assert "not an Authorization header and basic_auth" in lines[1]
    assert leaked(str(error.value)) == []


def test_a_config_error_does_not_quote_a_secret(tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump({"sinks": {
        "hook": {"webhook": {"endpoint": "ftp://admin:url-pass-0a1b2c@hooks.example.com/x", "timeout": "${DB_PASSWORD}"}},
    }}))
    with pytest.raises(ConfigError) as error:
        load(path, environ=ENV)
    text = str(error.value)
    assert "sinks.hook.webhook.endpoint" in text and "sinks.hook.webhook.timeout" in text
    assert leaked(text) == [], text


# ---- the model-level marks: a field whose name says secret holds a SecretStr


def _members(annotation: object) -> list[object]:
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return _members(typing.get_args(annotation)[0])
    if origin in (typing.Union, types.UnionType, list, tuple, dict, set, frozenset):
        return [m for arg in typing.get_args(annotation) for m in _members(arg)]
    return [annotation]


# Fields named like secrets that hold no secret: each says what it holds instead.
NOT_SECRETS = {
    "kinesis.Params.partition_key": "a template naming the partition",
    "events.Throttle.key": "the record fields events are grouped by",
    "events.Dedupe.key": "the record fields events are grouped by",
    "core.SecretKeyRef.secret": "the name of a Kubernetes Secret",
    "core.SecretKeyRef.key": "the key inside that Secret",
}


def test_every_field_named_like_a_secret_is_typed_secret() -> None:
    found: dict[str, list[str]] = {}
    seen: set[type] = set()

    def walk(model: type[BaseModel]) -> None:
        if model in seen:
            return
        seen.add(model)
        for name, field in model.model_fields.items():
            members = _members(field.annotation)
            for member in members:
                if isinstance(member, type) and issubclass(member, BaseModel):
                    walk(member)
            if looks_secret(field.alias or name) and str in members:
                found[f"{model.__module__.split('.')[-2]}.{model.__name__}.{name}"] = [str(m) for m in members]

    walk(settings_model(tables()))
    assert set(found) == set(NOT_SECRETS), found


# ---- the redaction rules


@pytest.mark.parametrize(("name", "secret"), [
    ("api_key", True), ("X-Api-Key", True), ("GITHUB_TOKEN", True), ("password", True), ("Authorization", True),
    ("AWS_SECRET_ACCESS_KEY", True), ("credentials", True), ("sig", True), ("xoxbToken", True),
    ("token_file", False), ("secretKeyRef", False), ("secret_name", False), ("AWS_ACCESS_KEY_ID", False),
    ("keycloak_url", False), ("monkey", False), ("stale_after", False), ("auth_type", False),
])
def test_which_names_look_secret(name: str, secret: bool) -> None:
    assert looks_secret(name) is secret


def test_scrub_masks_urls_and_remembered_values() -> None:
    remember(["wh-bearer-7f3a9c", "abc"], [("127.0.0.1", 9099)])
    assert scrub("POST http://u:p@example.com:8080/x?token=t1&page=2 failed") == \
        "POST http://***@example.com:8080/x?token=***&page=2 failed"
    assert scrub("URL('https://hooks.slack.com/services/T/B/X') and http://127.0.0.1:9099/hook/abc?x=1") == \
        "URL('https://hooks.slack.com/***') and http://127.0.0.1:9099/***"
    assert scrub("http://127.0.0.1:9098/ok stays") == "http://127.0.0.1:9098/ok stays"
    assert scrub('{"h": "Bearer wh-bearer-7f3a9c"}') == '{"h": "Bearer ***"}'
    assert scrub("abc is too short to hunt in free text") == "abc is too short to hunt in free text"
    assert scrub_value({"e": ["x wh-bearer-7f3a9c"], "n": 1}) == {"e": ["x ***"], "n": 1}
    assert mask_url_path("https://u:p@outlook.office.com/webhook/abc?x=1") == "https://***@outlook.office.com/***"
    assert mask_url_path("https://api.opsgenie.com") == "https://api.opsgenie.com"


def test_remembered_values_are_bounded() -> None:
    remember(f"secret-value-{n:06d}" for n in range(secrets._MAX_REMEMBERED + 10))
    assert not secrets.is_remembered("secret-value-000000")
    assert secrets.is_remembered(f"secret-value-{secrets._MAX_REMEMBERED + 9:06d}")


def test_a_resource_spec_is_shown_masked() -> None:
    """/api/checks/<ns>/<name> shows a HealthCheck's spec as written: header values and URL credentials masked."""
    spec = {"schedule": {"every": "1m"}, "probe": {"http": {
        "url": "https://probe:url-pass-0a1b2c@shop.example/health?api_key=hdr-api-key-4d5e6f",
        "headers": {"X-Team": "payments", "Authorization": {"secret": "api", "key": "token"}}}},
        "job": {"template": {"spec": {"automountServiceAccountToken": False, "containers": [{"name": "c"}]}}}}
    assert secrets.view(spec) == {"schedule": {"every": "1m"}, "probe": {"http": {
        "url": "https://***@shop.example/health?api_key=***",
        "headers": {"X-Team": "***", "Authorization": {"secret": "***", "key": "***"}}}},
        "job": {"template": {"spec": {"automountServiceAccountToken": False, "containers": [{"name": "c"}]}}}}
