"""Fixtures for the probe tests: a probe environment and local peers on 127.0.0.1."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import pytest

from kubevigil.core.clock import SystemClock
from kubevigil.kube.client import KubeApi
from kubevigil.kube.kubeconfig import anonymous
from kubevigil.roles.checks.probes import ProbeEnv
from tests.checks_probes.servers import http_app, serve


@pytest.fixture
async def http_session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


@pytest.fixture
async def offline_api() -> AsyncIterator[KubeApi]:
    """A client for probes that do not use the API: port 9 on loopback refuses anything sent by mistake."""
    api = KubeApi(anonymous("http://127.0.0.1:9"))
    try:
        yield api
    finally:
        await api.aclose()


@pytest.fixture
def env(offline_api: KubeApi, http_session: aiohttp.ClientSession) -> ProbeEnv:
    return ProbeEnv(api=offline_api, clock=SystemClock(), http=http_session)


@pytest.fixture
async def web_url() -> AsyncIterator[str]:
    async with serve(http_app()) as url:
        yield url
