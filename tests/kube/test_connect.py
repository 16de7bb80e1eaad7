"""connect(): config discovery, auth (token, exec plugin) and one-line errors, against a real socket."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from kubevigil.kube.client import connect
from kubevigil.kube.errors import KubeConnectError
from tests.kube.conftest import write_kubeconfig
from tests.kube.fakeapi import FakeApi
from tests.loopback import free_port


async def test_bad_token_is_one_line_naming_context_server_and_401(fake: FakeApi, tmp_path: Path) -> None:
    cfg = write_kubeconfig(tmp_path / "kc", fake.url, {"token": "wrong"}, context="prod-eks")
    with pytest.raises(KubeConnectError) as err:
        await connect(str(cfg))
    text = str(err.value)
    assert "\n" not in text
    assert "prod-eks" in text and fake.url in text and "401" in text


async def test_refused_port(tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    cfg = write_kubeconfig(tmp_path / "kc", url, {"token": "t"})
    with pytest.raises(KubeConnectError) as err:
        await connect(str(cfg))
    text = str(err.value)
    assert "\n" not in text and url in text and "'test'" in text
    assert "cannot connect" in text and "refused" in text.lower()


async def test_missing_file_and_unknown_context(tmp_path: Path, fake: FakeApi) -> None:
    with pytest.raises(KubeConnectError, match="not found"):
        await connect(str(tmp_path / "nope"))
    cfg = write_kubeconfig(tmp_path / "kc", fake.url, {"token": fake.token})
    with pytest.raises(KubeConnectError, match="Context 'other' not found"):
        await connect(str(cfg), context="other")


async def test_no_config_anywhere(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("KUBECONFIG", raising=False)
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    with pytest.raises(KubeConnectError, match="no config found"):
        await connect(service_account=str(tmp_path / "sa"))


async def test_kubeconfig_env_and_context_namespace(fake: FakeApi, tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    cfg = write_kubeconfig(tmp_path / "kc", fake.url, {"token": fake.token})
    monkeypatch.setenv("KUBECONFIG", f"{tmp_path / 'missing'}:{cfg}")
    api = await connect()
    assert api.context == "test" and api.namespace == "default"
    await api.aclose()


async def test_in_cluster_service_account(fake: FakeApi, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    sa = tmp_path / "sa"
    sa.mkdir()
    (sa / "token").write_text(fake.token)
    (sa / "namespace").write_text("monitoring")
    (sa / "ca.crt").write_text("")
    monkeypatch.delenv("KUBECONFIG", raising=False)
    monkeypatch.setenv("KUBERNETES_SERVICE_HOST", "127.0.0.1")
    monkeypatch.setenv("KUBERNETES_SERVICE_PORT", str(fake.port))
    # The in-cluster server is https; the fake speaks http, so the failure must name TLS/connect, one line.
    with pytest.raises(KubeConnectError) as err:
        await connect(service_account=str(sa))
    assert f"https://127.0.0.1:{fake.port}" in str(err.value) and "\n" not in str(err.value)


def exec_plugin(tmp_path: Path, body: str) -> dict:
    script = tmp_path / "get-token.py"
    script.write_text(body)
    return {"exec": {"apiVersion": "client.authentication.k8s.io/v1", "command": sys.executable,
                     "args": [str(script)], "env": [{"name": "CLUSTER", "value": "prod"}]}}


async def test_exec_plugin_token_reaches_server(fake: FakeApi, tmp_path: Path) -> None:
    plugin = exec_plugin(tmp_path, f"""import json, os
assert os.environ["CLUSTER"] == "prod"
print(json.dumps({{"apiVersion": "client.authentication.k8s.io/v1", "kind": "ExecCredential",
                  "status": {{"token": "{fake.token}", "expirationTimestamp": "2099-01-01T00:00:00Z"}}}}))
""")
    api = await connect(str(write_kubeconfig(tmp_path / "kc", fake.url, plugin)))
    assert fake.seen_tokens[-1] == f"Bearer {fake.token}"
    await api.aclose()


async def test_exec_plugin_failure_names_its_last_stderr_line(fake: FakeApi, tmp_path: Path) -> None:
    plugin = exec_plugin(tmp_path, """import sys
print("Traceback (most recent call last):", file=sys.stderr)
print("An error occurred (ExpiredToken): The security token included in the request is expired", file=sys.stderr)
sys.exit(255)
""")
    with pytest.raises(KubeConnectError) as err:
        await connect(str(write_kubeconfig(tmp_path / "kc", fake.url, plugin, context="eks")))
    text = str(err.value)
    assert "\n" not in text and "'eks'" in text and "exec plugin failed" in text
    assert text.endswith("The security token included in the request is expired")
