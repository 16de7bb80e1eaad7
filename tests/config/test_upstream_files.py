"""Every upstream example and test input of a replaced tool, through `kubevigil check-config`, has the outcome the
original gives it, or a deliberate difference explained in docs/decisions.md.

THE TABLE: `UPSTREAM` below is the one place that says what happens to each file under tests/anchors/<tool>/upstream/
(a tool is covered once it is in `TOOLS`; its every file must then have a row). Role branches add their tools' rows.
Files copied unmodified below a `# Source:` line; the not-YAML inputs (where a comment line would change what the
file is) are copied byte for byte and their sources are in `SOURCES`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import pytest

from kubevigil import cli
from tests.anchors import ANCHORS

DECISIONS = Path(__file__).resolve().parents[2] / "docs" / "decisions.md"


@dataclass(frozen=True)
class Accepted:
    """check-config exits 0; `note`, when given, is part of a warning it prints."""

    note: str = ""


@dataclass(frozen=True)
class Rejected:
    """check-config exits 1 with an error line at `line` naming `key` (empty: the file as a whole)."""

    key: str
    line: int


@dataclass(frozen=True)
class Differs:
    """kubevigil deliberately does otherwise than the original: `decision` is a bold paragraph title in
    docs/decisions.md, `original` what the tool does, `outcome` what kubevigil does."""

    decision: str
    original: str
    outcome: Accepted | Rejected


EE = "kubernetes-event-exporter/upstream/"
KS = "kubestatus2cloudwatch/upstream/"
TOOLS = ("kubernetes-event-exporter", "kubestatus2cloudwatch")
EE_SOURCE = "github.com/resmoio/kubernetes-event-exporter (Apache-2.0) commit 907ce91"
KS_SOURCE = "github.com/trallnag/kubestatus2cloudwatch (ISC) commit b094c97"
SOURCES = {
    EE + "readme-16-opscenter.yaml": f"{EE_SOURCE}, README.md lines 366-386",
    EE + "test-setup-2-curly-unquoted.yaml": f"{EE_SOURCE}, pkg/setup/setup_test.go raw string at line 43",
    EE + "test-setup-4-not-yaml.yaml": f"{EE_SOURCE}, pkg/setup/setup_test.go raw string at line 73",
    KS + "test-config-1-not-yaml.yaml": f"{KS_SOURCE}, config_test.go fileContent at line 62",
}
GO_BOOL = "expected true or false"
UNDEFINED_RECEIVER = "events: a route to an undefined receiver is an error"

UPSTREAM: dict[str, Accepted | Rejected | Differs] = {
    EE + "01-config.yaml": Differs("importers: a ConfigMap manifest is read from its config.yaml",
                                   "ignores every key: an empty config that exports nothing",
                                   Accepted('is a ConfigMap manifest: using its data."config.yaml"')),
    EE + "event-exporter-deploy-config.yaml": Accepted("metricsNamePrefix: ignored"),
    EE + "readme-01-route.yaml": Differs(UNDEFINED_RECEIVER, "accepts; logs 'There is no channel' per event",
                                         Rejected("route.routes.0.match.0.receiver", 7)),
    EE + "readme-02-kubeqps.yaml": Accepted("kubeQPS: accepted and not needed"),
    EE + "readme-03-maxeventage.yaml": Accepted("maxEventAgeSeconds: 60"),
    EE + "readme-04-opsgenie.yaml": Accepted(),
    EE + "readme-05-webhook.yaml": Accepted(),
    EE + "readme-06-elasticsearch.yaml": Rejected("receivers.0.elasticsearch.useEventID", 17),
    EE + "readme-07-opensearch.yaml": Rejected("receivers.0.opensearch.useEventID", 14),
    EE + "readme-08-slack.yaml": Accepted(),
    EE + "readme-09-kinesis.yaml": Accepted(),
    EE + "readme-10-firehose.yaml": Accepted(),
    EE + "readme-11-sns.yaml": Accepted(),
    EE + "readme-12-sqs.yaml": Accepted(),
    EE + "readme-13-file.yaml": Accepted(),
    EE + "readme-14-stdout.yaml": Rejected("receivers.0.stdout.deDot", 12),
    EE + "readme-15-kafka.yaml": Accepted("receiver 'kafka': Kafka is not supported"),
    EE + "readme-16-opscenter.yaml": Rejected("", 5),
    EE + "readme-17-kinesis-layout.yaml": Accepted(),
    EE + "readme-18-pubsub.yaml": Accepted("receiver 'pubsub': Google Pub/Sub is not supported"),
    EE + "readme-19-teams.yaml": Accepted(),
    EE + "readme-20-syslog.yaml": Accepted("kubevigil writes RFC 5424 messages"),
    EE + "readme-21-bigquery.yaml": Accepted("receiver 'my-big-query': BigQuery is not supported"),
    EE + "readme-22-pipe.yaml": Rejected("receivers.0.pipe.deDot", 6),
    EE + "readme-23-eventbridge.yaml": Accepted(),
    EE + "readme-24-loki.yaml": Accepted(),
    EE + "test-config-parseconfig.yaml": Accepted(),
    EE + "test-setup-1-noerrors.yaml": Accepted(),
    EE + "test-setup-2-curly-unquoted.yaml": Rejected("", 2),
    EE + "test-setup-3-curly-quoted.yaml": Rejected("logLevel", 3),
    # the original's YAML parser points at the line the bad mapping starts (2), libyaml where it fails (3)
    EE + "test-setup-4-not-yaml.yaml": Rejected("", 3),
    KS + "test-config-1-not-yaml.yaml": Rejected("", 1),
    # no key kubestatus2cloudwatch uses, so it is read as kubevigil's own format: its one key is unknown there
    KS + "test-config-2-invalid-config.yaml": Rejected("this", 2),
    KS + "test-config-3-success.yaml": Accepted("logging.format: logfmt"),
}

ENV_REFERENCE = re.compile(r"\$\{?([A-Za-z_][A-Za-z0-9_]*)")


def check_config(path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> tuple[int, str]:
    for name in ENV_REFERENCE.findall(path.read_text(errors="replace")):
        monkeypatch.setenv(name, "dummy-value")
    code = cli.main(["check-config", str(path)])
    return code, capsys.readouterr().err


@pytest.mark.parametrize("name", sorted(UPSTREAM))
def test_upstream_file_has_the_recorded_outcome(name: str, capsys: pytest.CaptureFixture[str],
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    path = ANCHORS / name
    expected = UPSTREAM[name]
    if isinstance(expected, Differs):
        assert f"**{expected.decision}.**" in DECISIONS.read_text(), f"docs/decisions.md lacks {expected.decision!r}"
        expected = expected.outcome
    code, err = check_config(path, capsys, monkeypatch)
    assert "Traceback" not in err
    if isinstance(expected, Accepted):
        assert code == 0, err
        assert expected.note in err
    else:
        assert code == 1, err
        where = f"{path}:{expected.line}: " + (f"{expected.key}: " if expected.key else "")
        assert any(line.startswith(where) for line in err.splitlines()), f"no line starting {where!r} in:\n{err}"


def test_every_upstream_file_of_a_covered_tool_has_a_row_and_a_source() -> None:
    files = {str(p.relative_to(ANCHORS)) for tool in TOOLS for p in (ANCHORS / tool / "upstream").iterdir()}
    assert files == set(UPSTREAM)
    for name in files:
        first = (ANCHORS / name).read_bytes().split(b"\n", 1)[0]
        assert first.startswith(b"# Source: ") or name in SOURCES, f"{name}: no source line and no SOURCES entry"
