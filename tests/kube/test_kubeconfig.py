"""kubevigil's own kubeconfig reading and credentials, as kubectl reads them, against real sockets on loopback."""

from __future__ import annotations

import base64
import datetime
import json
import ssl
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import yaml
from aiohttp import web
from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID

from kubevigil.kube.client import connect
from kubevigil.kube.errors import KubeConnectError
from kubevigil.sim.certs import loopback_cert
from tests.certs import self_signed
from tests.kube.conftest import write_kubeconfig
from tests.kube.fakeapi import FakeApi


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def client_cert() -> tuple[bytes, bytes]:
    """A self-signed client certificate (PEM cert, PEM key) for CN=kubevigil."""
    return self_signed("kubevigil", x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]))


class TlsApi:
    """An HTTPS server answering /version and /api that records the client certificate's CN (if it asks for one)."""

    def __init__(self, client_ca: bytes | None) -> None:
        self.client_ca = client_ca
        self.peers: list[str] = []
        self.url = ""

    async def handle(self, request: web.Request) -> web.Response:
        peer = request.transport.get_extra_info("peercert") if request.transport else None
        self.peers.append(str(dict(x[0] for x in peer["subject"])["commonName"]) if peer else "")
        return web.json_response({"kind": "APIVersions", "versions": ["v1"]})

    async def __aenter__(self) -> TlsApi:
        ctx = loopback_cert().server_context()
        if self.client_ca is not None:
            ctx.verify_mode = ssl.CERT_REQUIRED
            ctx.load_verify_locations(cadata=self.client_ca.decode())
        app = web.Application()
        app.router.add_get("/{tail:.*}", self.handle)
        self.runner = web.AppRunner(app, shutdown_timeout=0.1)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0, ssl_context=ctx)
        await site.start()
        self.url = f"https://127.0.0.1:{site._server.sockets[0].getsockname()[1]}"  # type: ignore[union-attr]
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.runner.cleanup()


def kubeconfig(path: Path, cluster: dict, user: dict) -> Path:
    path.write_text(yaml.safe_dump({
        "apiVersion": "v1", "kind": "Config", "current-context": "x",
        "clusters": [{"name": "c", "cluster": cluster}], "users": [{"name": "u", "user": user}],
        "contexts": [{"name": "x", "context": {"cluster": "c", "user": "u"}}]}))
    return path


@pytest.fixture
async def mtls() -> AsyncIterator[tuple[TlsApi, bytes, bytes]]:
    cert, key = client_cert()
    async with TlsApi(client_ca=cert) as server:
        yield server, cert, key


async def test_client_certificate_from_inline_data(mtls: tuple[TlsApi, bytes, bytes], tmp_path: Path) -> None:
    server, cert, key = mtls
    cluster = {"server": server.url, "certificate-authority-data": b64(loopback_cert().cert_pem)}
    api = await connect(str(kubeconfig(tmp_path / "kc", cluster,
                                       {"client-certificate-data": b64(cert), "client-key-data": b64(key)})))
    await api.aclose()
    assert server.peers and set(server.peers) == {"kubevigil"}


async def test_client_certificate_files_relative_to_the_kubeconfig(mtls: tuple[TlsApi, bytes, bytes],
                                                                   tmp_path: Path) -> None:
    server, cert, key = mtls
    (tmp_path / "pki").mkdir()
    (tmp_path / "pki" / "ca.crt").write_bytes(loopback_cert().cert_pem)
    (tmp_path / "pki" / "me.crt").write_bytes(cert)
    (tmp_path / "pki" / "me.key").write_bytes(key)
    cfg = kubeconfig(tmp_path / "kc", {"server": server.url, "certificate-authority": "pki/ca.crt"},
                     {"client-certificate": "pki/me.crt", "client-key": "pki/me.key"})
    api = await connect(str(cfg))
    await api.aclose()
    assert set(server.peers) == {"kubevigil"}


async def test_without_the_client_certificate_the_handshake_fails_in_one_line(
        mtls: tuple[TlsApi, bytes, bytes], tmp_path: Path) -> None:
    server, _, _ = mtls
    cfg = kubeconfig(tmp_path / "kc", {"server": server.url, "certificate-authority-data": b64(loopback_cert().cert_pem)},
                     {"token": "t"})
    with pytest.raises(KubeConnectError) as err:
        await connect(str(cfg))
    assert "\n" not in str(err.value) and server.url in str(err.value)


async def test_an_unknown_ca_is_a_verify_failure_unless_insecure(tmp_path: Path) -> None:
    async with TlsApi(client_ca=None) as server:
        with pytest.raises(KubeConnectError, match="TLS: certificate verify failed"):
            await connect(str(kubeconfig(tmp_path / "kc", {"server": server.url}, {"token": "t"})))
        api = await connect(str(kubeconfig(tmp_path / "kc2", {"server": server.url, "insecure-skip-tls-verify": True},
                                           {"token": "t"})))
        await api.aclose()


async def test_relative_token_file_and_basic_auth(fake: FakeApi, tmp_path: Path) -> None:
    (tmp_path / "token").write_text(fake.token + "\n")
    api = await connect(str(write_kubeconfig(tmp_path / "kc", fake.url, {"tokenFile": "token"})))
    await api.aclose()
    assert fake.seen_tokens[-1] == f"Bearer {fake.token}"
    with pytest.raises(KubeConnectError, match="401"):
        await connect(str(write_kubeconfig(tmp_path / "kc", fake.url, {"username": "ann", "password": "pw"})))
    assert fake.seen_tokens[-1] == "Basic " + b64(b"ann:pw")


async def test_exec_plugin_is_told_non_interactive_and_runs_again_once_expired(fake: FakeApi, tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    soon = (datetime.datetime.now(datetime.UTC) + datetime.timedelta(seconds=30)).strftime("%Y-%m-%dT%H:%M:%SZ")
    script = tmp_path / "plugin.py"
    script.write_text(f"""import json, os
with open({str(runs)!r}, "a") as f:
    f.write(os.environ["KUBERNETES_EXEC_INFO"] + "\\n")
print(json.dumps({{"apiVersion": "client.authentication.k8s.io/v1beta1", "kind": "ExecCredential",
                  "status": {{"token": "{fake.token}", "expirationTimestamp": "{soon}"}}}}))
""")
    plugin = {"exec": {"apiVersion": "client.authentication.k8s.io/v1beta1", "command": sys.executable,
                       "args": [str(script)]}}
    api = await connect(str(write_kubeconfig(tmp_path / "kc", fake.url, plugin)))
    await api.aclose()
    lines = runs.read_text().splitlines()
    # 30 s left is inside the one-minute margin: each of connect's two requests ran the plugin again
    assert len(lines) == 2
    assert json.loads(lines[0]) == {"apiVersion": "client.authentication.k8s.io/v1beta1", "kind": "ExecCredential",
                                    "spec": {"interactive": False}}


@pytest.mark.parametrize(("user", "reason"), [
    ({"auth-provider": {"name": "gcp"}}, "auth-provider is not supported"),
    ({"exec": {"apiVersion": "client.authentication.k8s.io/v2", "command": "x"}}, "apiVersion"),
])
async def test_unusable_users_are_one_line(fake: FakeApi, tmp_path: Path, user: dict, reason: str) -> None:
    with pytest.raises(KubeConnectError, match=reason) as err:
        await connect(str(write_kubeconfig(tmp_path / "kc", fake.url, user)))
    assert "\n" not in str(err.value)


async def test_a_context_naming_a_missing_cluster_is_one_line(tmp_path: Path) -> None:
    cfg = tmp_path / "kc"
    cfg.write_text(yaml.safe_dump({"current-context": "x", "clusters": [], "users": [],
                                   "contexts": [{"name": "x", "context": {"cluster": "gone"}}]}))
    with pytest.raises(KubeConnectError, match="cluster 'gone' not found"):
        await connect(str(cfg))


class ForwardProxy:
    """A plain HTTP forward proxy (absolute-form requests) that records what it forwarded."""

    def __init__(self) -> None:
        self.forwarded: list[str] = []
        self.url = ""

    async def handle(self, request: web.Request) -> web.Response:
        import aiohttp

        self.forwarded.append(str(request.url))
        async with aiohttp.ClientSession() as session, session.request(
                request.method, request.url, headers={"Authorization": request.headers.get("Authorization", "")},
                timeout=aiohttp.ClientTimeout(total=10)) as resp:
            return web.Response(status=resp.status, body=await resp.read(), content_type="application/json")

    async def __aenter__(self) -> ForwardProxy:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self.handle)
        self.runner = web.AppRunner(app, shutdown_timeout=0.1)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        self.url = f"http://127.0.0.1:{site._server.sockets[0].getsockname()[1]}"  # type: ignore[union-attr]
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.runner.cleanup()


async def test_http_proxy_from_the_environment_unless_no_proxy(fake: FakeApi, tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    cfg = write_kubeconfig(tmp_path / "kc", fake.url, {"token": fake.token})
    async with ForwardProxy() as proxy:
        for name in ("HTTP_PROXY", "http_proxy", "NO_PROXY", "no_proxy", "HTTPS_PROXY", "https_proxy"):
            monkeypatch.delenv(name, raising=False)
        monkeypatch.setenv("HTTP_PROXY", proxy.url)
        api = await connect(str(cfg))
        await api.aclose()
        assert proxy.forwarded == [f"{fake.url}/version", f"{fake.url}/api"]
        monkeypatch.setenv("NO_PROXY", "127.0.0.1")
        api = await connect(str(cfg))
        await api.aclose()
        assert len(proxy.forwarded) == 2
