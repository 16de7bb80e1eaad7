"""The page in a real browser: Debian's chromium, driven headless by Playwright, against `kubevigil demo`.

Every panel shows a problem the demo plays (a crash-looping Deployment's Warnings, a failing check and its remedy,
the unreachable node in the matrix, a sink in outage with a growing queue); a new Warning appears without a reload;
a pod's `<script>` in an Event message stays text; run-now without the token is refused. Screenshots at 1280 and
390 px go to each test's folder (and to $KUBEVIGIL_SCREENSHOTS when set: that is how docs/img/ is refreshed).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conditions import wait_for
from tests.demo_process import start_demo
from tests.loopback import http_get

CHROMIUM = shutil.which("chromium") or ("/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None)
KUBECTL = str(Path(sys.executable).parent / "kubectl")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
WIDE, PHONE = 1280, 390
OUTAGE_SINK = "oncall-webhook"

pytestmark = [pytest.mark.skipif(CHROMIUM is None, reason="chromium missing: scripts/test installs Debian's chromium"),
              pytest.mark.slow, pytest.mark.timeout(420)]


@dataclass
class Demo:
    base: str
    out: Path
    proc: subprocess.Popen[str]
    home: Path

    def panels(self) -> dict[str, Any]:
        status, body = http_get(f"{self.base}/api/panels", timeout=10)
        assert status == 200, body
        return {p["name"]: p["data"] for p in json.loads(body)["panels"]}

    def kubectl(self, *args: str, stdin: str | None = None) -> str:
        env = {"KUBECONFIG": str(self.out / "kubeconfig"), "HOME": str(self.home), "PATH": os.environ.get("PATH", "")}
        done = subprocess.run([KUBECTL, *args], input=stdin, capture_output=True, text=True, env=env, timeout=60)
        assert done.returncode == 0, done.stderr
        return done.stdout

    def warning(self, reason: str, message: str, name: str) -> None:
        """A Warning Event created with kubectl, as anyone allowed to create events in a namespace could."""
        now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        self.kubectl("create", "-f", "-", stdin=yaml.safe_dump({
            "apiVersion": "v1", "kind": "Event",
            "metadata": {"name": f"{name}.{uuid.uuid4().hex[:10]}", "namespace": "default"},
            "involvedObject": {"apiVersion": "v1", "kind": "Pod", "namespace": "default", "name": name},
            "reason": reason, "message": message, "type": "Warning", "count": 1,
            "firstTimestamp": now, "lastTimestamp": now, "source": {"component": "web-test"}}))


def _problems_shown(demo: Demo) -> bool:
    """Every scenario of the demo has reached the panels' data."""
    p = demo.panels()
    checks = {c["name"]: c for c in (p.get("checks") or {}).get("checks", [])}
    nurse, events, process = p.get("nurse") or {}, p.get("events") or {}, p.get("process") or {}
    outage = [r for r in process.get("delivery", []) if r["sink"] == OUTAGE_SINK]
    return bool(
        (p.get("status") or {}).get("value") == 0
        and any(w["reason"] == "BackOff" and "shop/checkout" in w["object"] for w in events.get("latest", []))
        and checks.get("dns-kuberhealthy", {}).get("status") == "Failed"
        and any(r["result"] == "Failed" for r in checks.get("web-available", {}).get("runs", []))
        and any(not s.get("reachable", True) for s in nurse.get("sources", {}).values())
        and any(not path["ok"] for path in nurse.get("worst", []))
        and p.get("scrape")
        and outage and outage[0]["queued"] > 0 and outage[0]["failed_attempts"] > 0
    )


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    out = tmp_path_factory.mktemp("demo")
    home = tmp_path_factory.mktemp("home")  # kubectl's cache and config stay out of the user's ~/.kube
    log = open(out / "demo.log", "w")  # noqa: SIM115 - closed with the process
    proc, text = start_demo(out, 900, stderr=log)
    try:
        first = next(line for line in text.splitlines() if line.strip())
        match = re.search(r"^kubevigil demo is running: open (http://127\.0\.0\.1:\d+)/ in a browser", first)
        assert match, f"the page's URL is not the banner's first line:\n{text}"
        running = Demo(match.group(1), out, proc, home)
        wait_for(lambda: _problems_shown(running), timeout=240, interval=1.0)
        yield running
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
        log.close()


@dataclass
class Browser:
    """One fresh headless chromium (its own profile), with what its console said."""

    page: Any
    errors: list[str] = field(default_factory=list)
    navigations: list[str] = field(default_factory=list)


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:

        def open_at(url: str, width: int = WIDE) -> Browser:
            profile = tmp_path / f"profile-{width}-{uuid.uuid4().hex[:6]}"
            ctx = pw.chromium.launch_persistent_context(
                str(profile), executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS,
                viewport={"width": width, "height": 900}, timeout=60_000)
            page = ctx.pages[0] if ctx.pages else ctx.new_page()
            seen = Browser(page)
            page.on("console", lambda m: seen.errors.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: seen.errors.append(f"page error: {e}"))
            page.on("framenavigated", lambda f: seen.navigations.append(f.url) if f == page.main_frame else None)
            page.set_default_timeout(60_000)
            page.goto(url)
            return seen

        yield open_at


def refreshed(page: Any) -> None:
    """Wait until the live refresh has fetched the Events panel once more."""
    with page.expect_response(lambda r: "/web/panels/events" in r.url, timeout=60_000):
        pass
    page.wait_for_load_state("networkidle")


def _save(page: Any, tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    page.screenshot(path=str(path), full_page=True)
    assert path.stat().st_size > 10_000
    target = os.environ.get("KUBEVIGIL_SCREENSHOTS")
    if target:
        Path(target).mkdir(parents=True, exist_ok=True)
        shutil.copy(path, Path(target) / name)


def test_every_panel_shows_the_demo_problems(demo: Demo, browser: Any, tmp_path: Path) -> None:
    seen = browser(demo.base + "/")
    page = seen.page
    heartbeat = page.locator("#panel-status")
    assert heartbeat.locator("h2 .badge").inner_text() == "unhealthy (0)"
    assert "unhealthy" in heartbeat.locator('tr[data-target="Deployment/shop/checkout"]').inner_text()
    assert heartbeat.locator("figure.strip rect.bad").count() >= 1

    events = page.locator("#panel-events")
    assert events.locator("table.warnings tr", has_text="BackOff").filter(has_text="shop/checkout").count() >= 1
    outage = events.locator(f'tr[data-sink="{OUTAGE_SINK}"] td')
    assert int(outage.nth(2).inner_text().replace(",", "")) > 0  # queued

    checks = page.locator("#panel-checks")
    assert "Failed" in checks.locator('tr.check[data-check="health/dns-kuberhealthy"]').inner_text()
    remedied = checks.locator('tr.check[data-check="health/web-available"]')
    assert remedied.locator("svg.runs rect.bad").count() >= 1  # the run that failed before the remedy
    assert remedied.locator("td.remedy").inner_text().strip() not in ("", "\u2013")

    network = page.locator("#panel-nurse")
    assert network.locator("svg rect.err").count() >= 1 and network.locator("svg rect.unknown").count() >= 1
    assert network.locator("ol.worst li.bad").count() >= 1 and "no answer" in network.inner_text()

    capacity = page.locator("#panel-scrape")
    assert "aws-node" in capacity.inner_text() and "IP addresses" in capacity.inner_text()
    assert capacity.locator("polyline.line").count() >= 1

    process = page.locator("#panel-process")
    assert "role:nurse" in process.inner_text() and process.locator("table.informers tr").count() > 3
    assert int(process.locator(f'tr[data-sink="{OUTAGE_SINK}"] td').nth(5).inner_text().replace(",", "")) > 0

    refreshed(page)
    assert seen.errors == []
    _save(page, tmp_path, f"web-{WIDE}.png")

    phone = browser(demo.base + "/", PHONE).page
    assert phone.evaluate("document.documentElement.scrollWidth") <= PHONE  # nothing wider than the phone
    assert phone.locator("#panel-status h2").is_visible()
    _save(phone, tmp_path, f"web-{PHONE}.png")


def test_a_sink_in_outage_shows_its_queue_growing(demo: Demo, browser: Any) -> None:
    page = browser(demo.base + "/").page
    row = page.locator(f'#panel-events tr[data-sink="{OUTAGE_SINK}"] td')

    def queued() -> int:
        return int(row.nth(2).inner_text().replace(",", ""))

    before = queued()
    wait_for(lambda: queued() > before, timeout=120, interval=1.0)  # the live refresh shows it grow
    assert "behind" in page.locator(f'#panel-process tr[data-sink="{OUTAGE_SINK}"]').inner_text() or \
        row.nth(3).inner_text() != "\u2013"


def test_live_refresh_shows_a_new_warning_and_filters_keep(demo: Demo, browser: Any) -> None:
    seen = browser(demo.base + "/")
    page = seen.page
    reason = f"Live{uuid.uuid4().hex[:8]}"
    demo.warning(reason, "written while the page is open", "live-refresh")
    page.locator("#panel-events table.warnings td", has_text=reason).first.wait_for(timeout=60_000)
    assert seen.navigations == [demo.base + "/"]  # no reload: the refresh replaced the panel

    page.locator('#panel-events select[name="reason"]').select_option(reason)
    page.wait_for_url(re.compile(rf"\?reason={reason}$"))
    rows = page.locator("#panel-events table.warnings tbody tr")
    wait_for(lambda: rows.count() == 1 and reason in rows.first.inner_text(), timeout=30)
    refreshed(page)  # the filter holds across a refresh
    assert rows.count() == 1 and reason in rows.first.inner_text()
    assert seen.errors == []


def test_an_event_message_with_script_renders_as_text(demo: Demo, browser: Any) -> None:
    message = '<script>window.__xss = 1</script><img src=x onerror="window.__xss = 2"><b>bold?</b>'
    demo.warning("Injected", message, "xss-pod")
    wait_for(lambda: any(w["object"].endswith("xss-pod") for w in demo.panels()["events"]["latest"]), timeout=60)
    seen = browser(demo.base + "/")
    page = seen.page
    cell = page.locator("#panel-events table.warnings td.msg", has_text="window.__xss = 1").first
    assert cell.inner_text() == message  # shown as the text it is
    refreshed(page)  # and still after a live refresh
    cell = page.locator("#panel-events table.warnings td.msg", has_text="window.__xss = 1").first
    assert cell.inner_text() == message
    assert page.evaluate("typeof window.__xss") == "undefined"
    assert page.locator("#panel-events img, #panel-events b, #panel-events td.msg script").count() == 0
    assert seen.errors == []


def test_run_now_is_refused_without_the_token_and_accepted_with_it(demo: Demo, browser: Any) -> None:
    seen = browser(demo.base + "/")
    page = seen.page
    button = page.locator('tr.check[data-check="health/web-available"] button.run')

    def run_now() -> Any:
        with page.expect_response(lambda r: r.url.endswith("/api/checks/health/web-available/run")) as answer:
            button.click()
        return answer.value

    refused = run_now()
    assert refused.status == 401 and refused.request.method == "POST"
    result = page.locator("#action-result")
    result.wait_for(state="visible")
    assert re.search(r"refused \(401\): bearer token required", result.inner_text()), result.inner_text()
    assert seen.errors and all("401" in e for e in seen.errors)  # the refused request, nothing else

    page.fill("#token", (demo.out / "token").read_text().strip())
    page.click("#token-form button")
    accepted = run_now()
    assert accepted.status == 202 and accepted.json() == {"triggered": ["kubevigil.io/health/web-available"]}
    page.locator("#action-result", has_text="requested").wait_for()
    assert page.evaluate("sessionStorage.length") == 1 and page.locator("#token").input_value() == ""
