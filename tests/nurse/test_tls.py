"""kubenurse's own variables only (the DaemonSet's way): HTTPS on 8443 with KUBENURSE_USE_TLS, neighbours over TLS."""

from __future__ import annotations

import ipaddress
import json
import ssl
from pathlib import Path

import aiohttp
import pytest
from cryptography import x509

from kubevigil.catalog import tables
from kubevigil.config.importers.kubenurse import load_environment
from kubevigil.kube.client import KubeApi
from kubevigil.runtime import Runtime
from tests.certs import self_signed
from tests.conditions import eventually
from tests.nurse.conftest import add_node, add_pod


def self_signed_files(tmp_path: Path, ips: list[str]) -> tuple[Path, Path]:
    cert, key = self_signed("nurse", x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address(i)) for i in ips]))
    crt, pem = tmp_path / "tls.crt", tmp_path / "tls.key"
    crt.write_bytes(cert)
    pem.write_bytes(key)
    return crt, pem


async def test_tls_listener_and_neighbours_over_https(api: KubeApi, tmp_path: Path, kubeconfig: Path, prefix: str,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    ips = [prefix + "1", prefix + "2"]
    crt, key = self_signed_files(tmp_path, ips)
    monkeypatch.setenv("KUBECONFIG", str(kubeconfig))
    runtimes = []
    try:
        for i, ip in enumerate(ips):
            await add_node(api, f"n{i}")
            await add_pod(api, f"nurse-{i}", f"n{i}", ip)
        for i, ip in enumerate(ips):
            env = {"KUBENURSE_USE_TLS": "true", "KUBENURSE_CERT_FILE": str(crt), "KUBENURSE_CERT_KEY": str(key),
                   "KUBENURSE_EXTRA_CA": str(crt), "KUBEVIGIL_LISTEN": f"{ip}:8080",
                   "KUBENURSE_NAMESPACE": "nurse", "KUBENURSE_NEIGHBOUR_FILTER": "app=nurse",
                   "KUBENURSE_CHECK_ME_INGRESS": "false", "KUBENURSE_CHECK_ME_SERVICE": "false",
                   "KUBENURSE_CHECK_API_SERVER_DNS": "false", "KUBENURSE_CHECK_INTERVAL": "500ms",
                   "KUBENURSE_SHUTDOWN_DURATION": "0s", "KUBEVIGIL_STATE_DIR": str(tmp_path / ip)}
            settings = load_environment(env, tables()).settings
            for name, value in {"POD_NAME": f"nurse-{i}", "POD_NAMESPACE": "nurse", "NODE_NAME": f"n{i}",
                                "POD_IP": ip}.items():
                monkeypatch.setenv(name, value)
            runtime = Runtime(settings, ["nurse"])
            await runtime.start()
            runtimes.append(runtime)
        role = runtimes[0]._roles["nurse"]
        await eventually(lambda: role.latest and role.latest.outcomes.get("path_n1") and
                    role.latest.outcomes["path_n1"].ok, timeout=30)
        phases = [name for name, _ in role.latest.outcomes["path_n1"].phases]
        assert "tls_handshake_done" in phases

        trust = ssl.create_default_context(cafile=str(crt))
        async with aiohttp.ClientSession() as session:
            async with session.get(f"https://{ips[0]}:8443/alive", ssl=trust) as resp:
                alive = json.loads(await resp.text())
            async with session.get(f"https://{ips[0]}:8443/metrics", ssl=trust) as resp:
                metrics = await resp.text()
            async with session.get(f"http://{ips[0]}:8080/alive") as resp:  # 8080 stays plain HTTP
                assert resp.status == 200
        assert alive["last_check_result"]["path_n1"] == "ok"
        assert 'kubenurse_httpclient_requests_total{code="200",type="path_n1"}' in metrics
    finally:
        for runtime in runtimes:
            await runtime.stop()
