"""Fixtures of the scrape tests: the two ipamd scrapes of cni-metrics-helper's own tests."""

from __future__ import annotations

import pytest

from tests.anchors import ANCHORS

METRICS = ANCHORS / "cni-metrics-helper" / "upstream" / "cmd" / "cni-metrics-helper" / "metrics"


@pytest.fixture
def anchor_scrapes() -> tuple[str, str]:
    return (METRICS / "cni_test1.data").read_text(), (METRICS / "cni_test2.data").read_text()
