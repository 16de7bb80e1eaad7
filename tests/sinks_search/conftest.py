"""The fake search server in both flavours, and a sink context."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry

from kubevigil.sinks.sink import SinkContext
from tests.fakes.search_server import FakeSearchServer


@pytest.fixture(params=["opensearch", "elasticsearch"])
def search(request: pytest.FixtureRequest) -> Iterator[FakeSearchServer]:
    with FakeSearchServer(request.param) as server:
        yield server


@pytest.fixture
def sink_ctx(tmp_path: Path) -> SinkContext:
    return SinkContext(name="search", cluster_name="test", state_dir=tmp_path, registry=CollectorRegistry())
