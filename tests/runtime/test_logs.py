"""Logs are JSON lines on stderr, and secrets never reach them."""

from __future__ import annotations

import json

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
