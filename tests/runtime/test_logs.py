"""Logs are JSON lines on stderr, and secrets never reach them."""

from __future__ import annotations

import json
import logging

import pytest
import structlog

from kubevigil.core import logs


@pytest.fixture(autouse=True)
def restore_logging():
    yield
    structlog.reset_defaults()


def test_json_lines_with_secrets_redacted(capsys) -> None:
    logs.configure("info", "json")
    log = structlog.get_logger("test")
    log.info("sink configured", sink="page", api_key="abc123", token="xoxb-1", password="pw", endpoint="http://x")
    log.debug("hidden at info level")
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1
    entry = json.loads(lines[0])
    assert entry["event"] == "sink configured" and entry["level"] == "info" and entry["endpoint"] == "http://x"
    assert entry["api_key"] == entry["token"] == entry["password"] == "***"
    assert "abc123" not in lines[0] and "xoxb-1" not in lines[0]


def test_console_format(capsys) -> None:
    logs.configure("debug", "console")
    structlog.get_logger("test").debug("hello", authorization="Bearer t")
    err = capsys.readouterr().err
    assert "hello" in err and "Bearer t" not in err


def test_library_records_are_json_lines_with_the_traceback_inside(capsys) -> None:
    logs.configure("info", "json")
    library = logging.getLogger("opensearch")
    library.info("POST http://search:9200/_bulk [status:200 request:0.003s]")  # chatter: off
    try:
        raise ConnectionError("Connection refused")
    except ConnectionError:
        library.warning("POST http://search:9200/_bulk [status:N/A request:0.004s]", exc_info=True)
    lines = capsys.readouterr().err.strip().splitlines()
    entries = [json.loads(line) for line in lines]  # every line is one JSON document: no raw traceback lines
    assert [e["logger"] for e in entries] == ["opensearch"]
    assert entries[0]["level"] == "warning" and "ConnectionError: Connection refused" in entries[0]["exception"]


def test_kubevigil_stdlib_loggers_follow_the_configured_level(capsys) -> None:
    logs.configure("info", "json")
    logging.getLogger("kubevigil.roles.events.enrichment").info("enrichment: fetched")
    logging.getLogger("kubevigil.kube.leader").debug("hidden at info level")
    entries = [json.loads(line) for line in capsys.readouterr().err.strip().splitlines()]
    assert [e["event"] for e in entries] == ["enrichment: fetched"]


def test_identical_warnings_are_rate_limited_with_a_count(capsys, monkeypatch) -> None:
    now = [1000.0]
    monkeypatch.setattr(logs.time, "monotonic", lambda: now[0])
    logs.configure("info", "json")
    log = structlog.get_logger("kubevigil.test")
    library = logging.getLogger("botocore")
    for i in range(50):
        log.warning("sink failing", sink="cw", error=f"connect timeout after {i % 3}.5s")
        library.warning("retry %d of POST to http://127.0.0.1:%d", i, 4566)
        now[0] += 1.0  # fifty seconds of a retry loop, then the interval ends
    now[0] += logs.REPEAT_INTERVAL
    log.warning("sink failing", sink="cw", error="connect timeout after 1.5s")
    library.warning("retry %d of POST to http://127.0.0.1:%d", 51, 4566)
    log.warning("another warning")
    entries = [json.loads(line) for line in capsys.readouterr().err.strip().splitlines()]
    assert [(e["event"][:11], e.get("repeated")) for e in entries] == [
        ("sink failin", None), ("retry 0 of ", None), ("sink failin", 49), ("retry 51 of", 49),
        ("another war", None)]


def test_each_failure_episode_opens_with_its_line_however_soon_after_the_last(capsys, monkeypatch) -> None:
    """Two API server outages five seconds apart: the second's first warning is not taken for a repeat of the first's
    (the chaos test saw the second outage logged only by its recovery)."""
    now = [1000.0]
    monkeypatch.setattr(logs.time, "monotonic", lambda: now[0])
    logs.configure("info", "json")
    log = structlog.get_logger("kubevigil.test")
    for _ in range(2):
        log.warning("informer cannot list/watch", informer="events", error="cannot connect", **logs.NEW_EPISODE)
        log.warning("a retry loop's line", error="cannot connect")
        log.info("informer recovered", informer="events")
        now[0] += 5.0
    entries = [json.loads(line) for line in capsys.readouterr().err.strip().splitlines()]
    assert [e["event"][:12] for e in entries] == ["informer can", "a retry loop", "informer rec", "informer can",
                                                   "informer rec"]
    assert all("_new_episode" not in e for e in entries)
