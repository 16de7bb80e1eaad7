"""Fixtures for the probe tests: a probe environment and local peers on 127.0.0.1."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import httpx2
import pytest

from kubevigil.core.clock import SystemClock
from kubevigil.kube.client import KubeApi
from kubevigil.roles.checks.probes import ProbeEnv
from tests.checks_probes.servers import http_app, serve


@pytest.fixture
async def http_session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


@pytest.fixture
async def offline_api() -> AsyncIterator[KubeApi]:
    """A client for probes that do not use the API: port 9 on loopback refuses anything sent by mistake."""
    client = httpx2.AsyncClient(base_url="http://127.0.0.1:9")
    try:
        yield KubeApi(client)
    finally:
        await client.aclose()


@pytest.fixture
def env(offline_api: KubeApi, http_session: aiohttp.ClientSession) -> ProbeEnv:
    return ProbeEnv(api=offline_api, clock=SystemClock(), http=http_session)


@pytest.fixture
async def web_url() -> AsyncIterator[str]:
    async with serve(http_app()) as url:
        yield url
