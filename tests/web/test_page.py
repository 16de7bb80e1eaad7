"""The page over real sockets, from a config file through the Runtime: escaping, headers, read access, secrets,
the nurse's / for non-browsers, and a role with nothing to show."""

from __future__ import annotations

import base64
import json
import re
from pathlib import Path

import aiohttp

from kubevigil.kube.resources import by_kind
from kubevigil.roles.checks.crd import crds
from kubevigil.sim.cluster import Cluster
from tests.conditions import eventually

from .harness import events_section, get, running, warning

XSS_MESSAGE = '<script>window.__xss = 1</script><img src=x onerror="window.__xss = 2">'
XSS_REASON = "<b>Injected</b>"


async def test_cluster_strings_are_escaped_on_the_page_and_in_its_fragments(
        sim_cluster: Cluster, sim_kubeconfig: Path, tmp_path: Path) -> None:
    async with running(sim_kubeconfig, tmp_path, events_section()) as base:
        warning(sim_cluster, XSS_REASON, XSS_MESSAGE, name="xss-pod")

        async def fragment() -> str:
            _, _, body = await get(base, "/web/panels/events")
            return body if "xss-pod" in body else ""

        html = await eventually(fragment, timeout=30)
        _, _, page = await get(base, "/", {"Accept": "text/html"})
        for body in (str(html), page):
            assert "&lt;script&gt;window.__xss = 1&lt;/script&gt;" in body
            assert "&lt;b&gt;Injected&lt;/b&gt;" in body
            assert "<script>window" not in body and "<img src=x" not in body and "<b>Injected" not in body
        _, _, api = await get(base, "/api/panels/events")
        latest = json.loads(api)["data"]["latest"]
        assert latest[0]["message"] == XSS_MESSAGE  # JSON carries the text as it is; the page escapes it


async def test_page_has_a_strict_content_security_policy_and_no_inline_code(
        sim_cluster: Cluster, sim_kubeconfig: Path, tmp_path: Path) -> None:
    async with running(sim_kubeconfig, tmp_path, events_section()) as base:
        status, headers, page = await get(base, "/", {"Accept": "text/html"})
        assert status == 200 and headers["Content-Type"].startswith("text/html")
        csp = headers["Content-Security-Policy"]
        assert "script-src 'self'" in csp and "default-src 'none'" in csp and "frame-ancestors 'none'" in csp
        assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
        assert headers["X-Content-Type-Options"] == "nosniff"
        assert not re.search(r"<script(?![^>]*\bsrc=)", page), "an inline script"
        assert not re.search(r"\sstyle=", page), "an inline style (the CSP blocks it)"
        assert not re.search(r"\son[a-z]+=", page), "an inline event handler"
        for asset, kind in (("app.js", "text/javascript"), ("app.css", "text/css"), ("favicon.svg", "image/svg")):
            status, headers, body = await get(base, f"/web/static/{asset}")
            assert status == 200 and headers["Content-Type"].startswith(kind) and body
            assert headers["Content-Security-Policy"]
        js = (await get(base, "/web/static/app.js"))[2]
        assert "eval(" not in js and "new Function" not in js
        assert (await get(base, "/web/static/../config.yaml"))[0] == 404


async def test_reads_with_a_token_from_a_secret(sim_cluster: Cluster, sim_kubeconfig: Path, tmp_path: Path) -> None:
    sim_cluster.store.create(by_kind("Secret"), {"apiVersion": "v1", "kind": "Secret", "metadata": {
        "name": "web-reads", "namespace": "default"}, "data": {"token": base64.b64encode(b"let-me-read\n").decode()}})
    web = {"reads": "token", "token": {"secret": "web-reads", "namespace": "default"}}
    async with running(sim_kubeconfig, tmp_path, events_section(), web=web) as base:
        for path in ("/api/panels", "/api/panels/events", "/web/panels/process"):
            status, headers, body = await get(base, path)
            assert status == 401 and "bearer token" in json.loads(body)["error"], (path, body)
            assert headers["WWW-Authenticate"].startswith("Bearer")
            assert (await get(base, path, {"Authorization": "Bearer wrong"}))[0] == 401
            assert (await get(base, path, {"Authorization": "Bearer let-me-read"}))[0] == 200
        status, _, shell = await get(base, "/", {"Accept": "text/html"})
        assert status == 200 and "reads need a bearer token" in shell
        assert "<table" not in shell  # the shell carries no data; the script asks with the token
        _, _, page = await get(base, "/", {"Accept": "text/html", "Authorization": "Bearer let-me-read"})
        assert 'id="panel-process"' in page and "<table" in page


async def test_reads_off_leaves_no_page_and_no_panel_api(sim_cluster: Cluster, sim_kubeconfig: Path,
                                                         tmp_path: Path) -> None:
    async with running(sim_kubeconfig, tmp_path, events_section(), web={"reads": "off"}) as base:
        for path in ("/", "/api/panels", "/web/panels/events"):
            status, _, body = await get(base, path, {"Accept": "text/html"})
            assert status == 404 and "server.web.reads: off" in body
        assert (await get(base, "/metrics"))[0] == 200 and (await get(base, "/readyz"))[0] in (200, 503)


async def test_no_secret_reaches_the_page_or_the_panel_api(sim_cluster: Cluster, sim_kubeconfig: Path,
                                                           tmp_path: Path) -> None:
    secrets = {"pa55-word-in-url", "header-secret-value", "xoxb-slack-secret", "run-now-secret"}
    for crd in crds():
        sim_cluster.store.create(by_kind("CustomResourceDefinition"), crd)
    sim_cluster.store.create(by_kind("Secret"), {"apiVersion": "v1", "kind": "Secret", "metadata": {
        "name": "run-now", "namespace": "default"}, "data": {"token": base64.b64encode(b"run-now-secret").decode()}})
    sinks = {  # all of them refuse or fail, so their errors are in play too
        "hook": {"webhook": {"endpoint": "http://alice:pa55-word-in-url@127.0.0.1:9/hook"},
                 "delivery": {"timeout": 1, "retry_base": 0.1, "retry_cap": 0.5}},
        # one way to authenticate per sink (the URL's credentials or a header, not both)
        "hook2": {"webhook": {"endpoint": "http://127.0.0.1:9/hook2",
                              "headers": {"Authorization": "Bearer header-secret-value"}},
                  "delivery": {"timeout": 1, "retry_base": 0.1, "retry_cap": 0.5}},
        "chat": {"slack": {"token": "xoxb-slack-secret", "channel": "#ops", "api_url": "http://127.0.0.1:9/api"},
                 "delivery": {"timeout": 1, "retry_base": 0.1, "retry_cap": 0.5}},
    }
    sections = {**events_section("hook", "hook2", "chat"),
                "checks": {"api_token": {"secret": "run-now", "namespace": "default"}}}
    async with running(sim_kubeconfig, tmp_path, sections, sinks=sinks) as base:
        warning(sim_cluster, "Leak", "goes to every sink")

        async def failed_sends() -> bool:
            _, _, body = await get(base, "/api/panels/process")
            rows = json.loads(body)["data"]["delivery"]
            return all(r["failed_attempts"] > 0 for r in rows if r["sink"] in ("hook", "hook2", "chat"))

        await eventually(failed_sends, timeout=30)
        bodies = [(await get(base, path, {"Accept": "text/html"}))[2] for path in (
            "/", "/api/panels", "/web/panels/events", "/web/panels/process", "/web/panels/checks")]
        async with aiohttp.ClientSession() as http, http.post(f"{base}/api/checks/default/none/run") as resp:
            bodies.append(await resp.text())  # a refusal must not echo the expected token either
        for body in bodies:
            assert not [s for s in secrets if s in body]


async def test_the_page_masks_secrets_the_cluster_quotes_as_every_output_does(
        sim_cluster: Cluster, sim_kubeconfig: Path, tmp_path: Path) -> None:
    """A pod can write anything into an Event: a config secret it learnt (with characters HTML escapes, so masking
    after escaping would miss it) or a URL with a password. The page and /api/panels mask both, as core.secrets does
    for /status, logs and dead letters."""
    header = 'Bearer s3cret&<tok>"en'
    sinks = {"hook": {"webhook": {"endpoint": "http://127.0.0.1:9/hook", "headers": {"Authorization": header}},
                      "delivery": {"timeout": 1, "retry_base": 0.1, "retry_cap": 0.5}}}
    async with running(sim_kubeconfig, tmp_path, events_section("out", "hook"), sinks=sinks) as base:
        warning(sim_cluster, "Leak", 'token s3cret&<tok>"en, db at postgres://bob:hunter22-pass@db.internal:5432/x')

        async def shown() -> bool:
            return "Leak" in (await get(base, "/web/panels/events"))[2]

        await eventually(shown, timeout=30)
        escaped = 's3cret&amp;&lt;tok&gt;&#34;en'
        for path in ("/", "/web/panels/events", "/api/panels", "/api/panels/events"):
            _, _, body = await get(base, path, {"Accept": "text/html"})
            assert "Leak" in body, path
            for leaked in ('s3cret&<tok>"en', "s3cret", escaped, "hunter22-pass"):
                assert leaked not in body, (path, leaked)
            assert "***" in body and "postgres://***@db.internal:5432/x" in body, path


async def test_nurse_keeps_root_for_clients_and_browsers_get_the_page(
        sim_cluster: Cluster, sim_kubeconfig: Path, tmp_path: Path) -> None:
    nurse = {"nurse": {"interval_seconds": 1, "shutdown_seconds": 0, "api_server": {"dns_name": "localhost"},
                       "neighbours": {"enabled": False}, "client": {"timeout_seconds": 2}}}
    async with running(sim_kubeconfig, tmp_path, nurse) as base:

        async def alive() -> dict[str, object]:
            status, _, body = await get(base, "/", {"Accept": "application/json"})
            return json.loads(body) if status == 200 else {}

        body = await eventually(alive, timeout=30)
        assert "last_check_result" in body and "hostname" in body  # kubenurse's /alive at /
        status, headers, page = await get(base, "/", {"Accept": "text/html,application/xhtml+xml"})
        assert status == 200 and headers["Content-Type"].startswith("text/html")
        assert 'id="panel-nurse"' in page and "<!doctype html>" in page


async def test_a_role_with_nothing_to_show_has_no_frame(sim_cluster: Cluster, sim_kubeconfig: Path,
                                                         tmp_path: Path) -> None:
    for crd in crds():
        sim_cluster.store.create(by_kind("CustomResourceDefinition"), crd)
    async with running(sim_kubeconfig, tmp_path, {"checks": {}}) as base:  # no HealthCheck anywhere
        _, _, page = await get(base, "/", {"Accept": "text/html"})
        assert '<section class="panel" id="panel-checks" data-panel="checks" hidden></section>' in page
        assert "<h2" not in page.split('id="panel-checks"')[1].split("</section>")[0]
        _, _, api = await get(base, "/api/panels")
        panels = {p["name"]: p for p in json.loads(api)["panels"]}
        assert list(panels) == ["checks", "process"] and panels["checks"]["data"] is None
        assert panels["process"]["data"]["version"]
        assert (await get(base, "/api/panels/nurse"))[0] == 404  # not running here: no such panel
