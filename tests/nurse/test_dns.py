"""api_server_dns through a real DNS server (Debian's dnsmasq on a loopback port), and its failure when it stops."""

from __future__ import annotations

from pathlib import Path

import pytest

from kubevigil.kube.client import KubeApi
from tests.conditions import eventually
from tests.nurse.conftest import Nurses, add_node, add_pod, nurse_config
from tests.nurse.dnsmasq import DNSMASQ, Dnsmasq

SERVICE_DNS = "kubernetes.default.svc.cluster.local"


@pytest.mark.skipif(DNSMASQ is None, reason="dnsmasq missing: scripts/test installs Debian's dnsmasq-base")
async def test_api_server_dns_through_dnsmasq(api: KubeApi, nurses: Nurses, tmp_path: Path, kubeconfig: Path,
                                              prefix: str) -> None:
    await add_node(api, "n0")
    await add_pod(api, "nurse-0", "n0", prefix + "1")
    with Dnsmasq(tmp_path, prefix + "53", {SERVICE_DNS: "127.0.0.1"}) as dnsmasq:
        config = nurse_config(tmp_path, kubeconfig, prefix + "1", {
            "api_server": {"dns": True}, "client": {"dns_servers": [dnsmasq.address], "timeout_seconds": 2,
                                                    "connect_timeout_seconds": 1}})
        await nurses.start(config, "nurse-0", "n0", prefix + "1")
        role = nurses.role("nurse-0")

        def dns_outcome() -> object:
            latest = role.latest
            return latest is not None and latest.outcomes["api_server_dns"]

        await eventually(lambda: dns_outcome() and dns_outcome().ok, timeout=30)
        outcome = role.latest.outcomes["api_server_dns"]
        names = [name for name, _ in outcome.phases]
        assert names[:2] == ["dns_start", "dns_done"] and "tls_handshake_done" in names
        assert role.latest.outcomes["api_server_direct"].ok

    # dnsmasq stopped: the DNS path fails as a DNS failure; the direct path still works.
    await eventually(lambda: role.latest.outcomes["api_server_dns"].event == "dns", timeout=30)
    latest = role.latest
    assert latest.outcomes["api_server_direct"].ok
    assert SERVICE_DNS in latest.outcomes["api_server_dns"].detail
    assert "dns_done" not in [name for name, _ in latest.outcomes["api_server_dns"].phases]
