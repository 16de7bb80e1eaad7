"""No secret in any output of a running kubevigil: logs at debug level, /status, /readyz, /metrics, dead-letter files
and the errors of failed sends, with every sink that holds a secret sending to a receiver that echoes the request
(its Authorization header included) in its error answer."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import yaml

from tests.conditions import wait_for
from tests.loopback import http_get

ENV = {"WEBHOOK_TOKEN": "wh-bearer-7f3a9c", "SLACK_BOT_TOKEN": "xoxb-1111-2222-slacktoken",
       "OPSGENIE_API_KEY": "og-key-5b6c7d8e"}
LITERALS = ["hdr-api-key-4d5e6f", "url-pass-0a1b2c", "teams-path-6w7x8y", "loki-url-pass-1q2w", "loki-hdr-secret-5t6y",
            "os-url-pass-7u8i", "es-api-key-5g6h", "es-hdr-secret-3d4f", "hook-path-secret-8h9j", "aws-url-pass-7j8k",
            "sqs-query-secret-9l0z"]
BASIC = ["admin:url-pass-0a1b2c", "loki:loki-url-pass-1q2w", "os:os-url-pass-7u8i", "aws:aws-url-pass-7j8k"]
SECRETS = [*ENV.values(), *LITERALS, *(base64.b64encode(b.encode()).decode() for b in BASIC)]
# sinks whose failed sends must have been reported before the outputs are read
FAILING = ("hook", "userinfo-hook", "path-hook", "slack", "teams", "opsgenie", "loki", "search", "elastic", "sns", "sqs",
           "kinesis", "firehose", "bus", "logs", "cw")


def leaked(text: str) -> list[str]:
    return [s for s in SECRETS if s in text]


@pytest.fixture
def echo() -> Iterator[tuple[str, list[str]]]:
    """A receiver that rejects every request with 400 and quotes the request, headers and all, in its answer."""
    received: list[str] = []

    class Echo(BaseHTTPRequestHandler):
        def _reject(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            self.rfile.read(length)
            text = f"rejected {self.command} {self.path}; " + "; ".join(f"{k}: {v}" for k, v in self.headers.items())
            received.append(text)
            body = json.dumps({"error": text, "ok": False}).encode()
            self.send_response(400)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_POST = do_PUT = do_GET = do_HEAD = _reject

        def log_message(self, *_: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Echo)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"127.0.0.1:{server.server_address[1]}", received
    finally:
        server.shutdown()
        server.server_close()


def config(kubeconfig: Path, echo: str) -> dict:
    record_sinks = {
        "hook": {"webhook": {"endpoint": f"http://{echo}/in?token=${{WEBHOOK_TOKEN}}",
                             "headers": {"Authorization": "Bearer ${WEBHOOK_TOKEN}", "X-Api-Key": "hdr-api-key-4d5e6f"}}},
        "userinfo-hook": {"webhook": {"endpoint": f"http://admin:url-pass-0a1b2c@{echo}/in"}},
        "path-hook": {"webhook": {"endpoint": f"http://{echo}/services/T0/hook-path-secret-8h9j"}},
        "slack": {"slack": {"token": "${SLACK_BOT_TOKEN}", "channel": "#ops", "api_url": f"http://{echo}/api"}},
        "teams": {"teams": {"endpoint": f"http://{echo}/webhookb2/teams-path-6w7x8y"}},
        "opsgenie": {"opsgenie": {"api_key": "${OPSGENIE_API_KEY}", "api_url": f"http://{echo}"}},
        "loki": {"loki": {"url": f"http://loki:loki-url-pass-1q2w@{echo}/loki", "headers": {"X-Token": "loki-hdr-secret-5t6y"}}},
        "search": {"opensearch": {"hosts": [f"http://os:os-url-pass-7u8i@{echo}"]}},
        "elastic": {"elasticsearch": {"hosts": [f"http://{echo}"], "api_key": "es-api-key-5g6h",
                                      "headers": {"X-Elastic-Auth": "es-hdr-secret-3d4f"}}},
        "sns": {"sns": {"topic_arn": "arn:aws:sns:eu-west-1:111122223333:t", "endpoint_url": f"http://{echo}",
                        "region": "eu-west-1"}},
        "sqs": {"sqs": {"queue_url": f"http://{echo}/1/q?sig=sqs-query-secret-9l0z", "region": "eu-west-1",
                        "endpoint_url": f"http://aws:aws-url-pass-7j8k@{echo}"}},
        "kinesis": {"kinesis": {"stream_name": "s", "endpoint_url": f"http://{echo}", "region": "eu-west-1"}},
        "firehose": {"firehose": {"delivery_stream_name": "f", "endpoint_url": f"http://{echo}", "region": "eu-west-1"}},
        "bus": {"eventbridge": {"source": "kubevigil", "detail_type": "event", "endpoint_url": f"http://{echo}",
                                "region": "eu-west-1"}},
        "logs": {"cloudwatch_logs": {"log_group_name": "g", "endpoint_url": f"http://{echo}", "region": "eu-west-1"}},
        "syslog": {"syslog": {"address": echo, "network": "tcp"}},
        "file": {"file": {"path": str(kubeconfig.parent / "events.jsonl")}},
        "out": {"stdout": {}},
    }
    fast = {"retry_base": 0.1, "retry_cap": 1}
    return {
        "cluster": {"name": "c", "kubeconfig": str(kubeconfig)},
        "logging": {"level": "debug", "format": "json"},
        "sinks": {
            **{name: {**sink, "delivery": fast} for name, sink in record_sinks.items()},
            "cw": {"cloudwatch": {"namespace": "NS", "endpoint_url": f"http://{echo}", "region": "eu-west-1"},
                   "delivery": fast},
            "prom": {"prometheus": {}},
            "emf": {"emf": {"namespace": "NS"}},
        },
        "leader_election": {"enabled": False},
        "events": {"route": {"routes": [{"match": [{"receiver": name}]} for name in record_sinks]}},
        "status": {"seconds": 1, "metric": {"name": "Up"}, "per_target": True, "sinks": ["cw", "prom", "emf"],
                   "targets": [{"kind": "Node", "name": "node-1"}]},
    }


def test_no_secret_in_any_output(tmp_path: Path, kubevigil_process, emulator_kubeconfig: Path, echo,
                                 monkeypatch: pytest.MonkeyPatch) -> None:
    address, received = echo
    for name, value in {**ENV, "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                        "AWS_EC2_METADATA_DISABLED": "true"}.items():
        monkeypatch.setenv(name, value)
    proc = kubevigil_process(config(emulator_kubeconfig, address))
    event = tmp_path / "event.yaml"
    event.write_text(yaml.safe_dump({
        "apiVersion": "v1", "kind": "Event", "type": "Warning", "reason": "BackOff", "message": "restarting",
        "metadata": {"name": "web.1", "namespace": "default"},
        "involvedObject": {"kind": "Pod", "namespace": "default", "name": "web"},
    }))
    subprocess.run([Path(sys.executable).with_name("kubectl"), "create", "-f", str(event)], check=True,
                   capture_output=True, timeout=60, env={**os.environ, "KUBECONFIG": str(emulator_kubeconfig)})
    log = proc.workdir / "kubevigil.log"
    deadletter = proc.workdir / "state" / "deadletter"

    def reported(sink: str) -> bool:
        dead = deadletter / f"{sink}.jsonl"
        return (dead.exists() and dead.stat().st_size > 0) or f'"sink": "{sink}"' in log.read_text()

    wait_for(lambda: all(reported(s) for s in FAILING), timeout=120, interval=0.5)
    wait_for(lambda: http_get(f"{proc.base}/status")[0] == 200)
    # the receiver did get the secrets: they are hidden from the outputs, not from the sinks
    sent = "\n".join(received)
    assert "Bearer wh-bearer-7f3a9c" in sent and "GenieKey og-key-5b6c7d8e" in sent and "hook-path-secret" in sent

    outputs = {
        "log": log.read_text(),
        **{f"GET {path}": http_get(f"{proc.base}{path}")[1].decode() for path in ("/status", "/readyz", "/metrics")},
        **{f"dead letters {f.name}": f.read_text() for f in deadletter.glob("*.jsonl")},
    }
    assert {name: leaked(text) for name, text in outputs.items() if leaked(text)} == {}
    assert len([f for f in outputs if f.startswith("dead letters")]) >= 5, sorted(outputs)
    dead = [json.loads(line) for line in outputs["dead letters hook.jsonl"].splitlines()]
    assert "answered 400" in dead[0]["reason"] and "Authorization: ***;" in dead[0]["reason"], dead[0]
    assert '"level": "debug"' in outputs["log"] and "Traceback" not in outputs["log"]
    assert proc.stop() == 0
