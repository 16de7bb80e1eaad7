"""Sink names: they become file names under state_dir (journal, dead letters), so they keep to a safe alphabet."""

from __future__ import annotations

import re

_SINK_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,127}")
SINK_NAME_RULE = "ASCII letters, digits, '_', '-', '.' (starting with a letter or digit, at most 128 characters)"


def check_sink_name(name: str) -> str:
    """`name` if it is usable as a sink name; ValueError saying the rule otherwise."""
    if not _SINK_NAME.fullmatch(name):
        raise ValueError(f"sink name {name!r} is not usable as a file name: use {SINK_NAME_RULE}")
    return name
