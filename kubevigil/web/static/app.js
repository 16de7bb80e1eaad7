// kubevigil's page: refresh each panel from /web/panels/<name> (HTML rendered and escaped by the server), keep the
// Events filters, send run-now with the API token. No eval, no inline script: the page's CSP allows only this file.
"use strict";
(function () {
  const TOKEN = "kubevigil-token";
  const main = document.getElementById("panels");
  const updated = document.getElementById("updated");
  const notice = document.getElementById("notice");
  const every = Math.max(1, Number(document.body.dataset.refresh || "3")) * 1000;
  let timer = null;
  let lastGood = Date.now();

  function token() { return sessionStorage.getItem(TOKEN) || ""; }
  function headers() { return token() ? { Authorization: "Bearer " + token() } : {}; }
  function say(text) { notice.textContent = text; notice.hidden = !text; }

  function filters() {
    const form = document.querySelector("#panel-events form.filters");
    const params = new URLSearchParams();
    if (form) {
      for (const select of form.querySelectorAll("select")) {
        if (select.value) params.set(select.name, select.value);
      }
    }
    return params;
  }

  function busy(section) {
    // Replacing a panel while its control has focus would close an open drop-down under the user's hand.
    const active = document.activeElement;
    return active && active.tagName === "SELECT" && section.contains(active);
  }

  async function load(name) {
    const section = document.getElementById("panel-" + name);
    if (!section || busy(section)) return;
    const query = name === "events" ? "?" + filters().toString() : "";
    const resp = await fetch("/web/panels/" + encodeURIComponent(name) + query,
                             { headers: headers(), cache: "no-store" });
    if (resp.status === 401) throw new Error("this page needs a token: enter it above");
    if (!resp.ok) throw new Error("kubevigil answered " + resp.status);
    const template = document.createElement("template");
    template.innerHTML = await resp.text();  // rendered by the server's autoescaping templates
    const fresh = template.content.firstElementChild;
    if (fresh) section.replaceWith(fresh);
  }

  async function refresh() {
    const names = (main.dataset.panels || "").split(" ").filter(Boolean);
    const results = await Promise.allSettled(names.map(load));
    const failed = results.find(function (r) { return r.status === "rejected"; });
    if (failed) {
      const age = Math.round((Date.now() - lastGood) / 1000);
      updated.textContent = "not updated for " + age + " s: " + failed.reason.message;
      updated.classList.add("stale");
    } else {
      lastGood = Date.now();
      updated.textContent = "as of " + new Date().toISOString().replace("T", " ").slice(0, 19) + " UTC";
      updated.classList.remove("stale");
      say("");
    }
  }

  function schedule() {
    if (timer) clearInterval(timer);
    timer = setInterval(function () { if (!document.hidden) refresh(); }, every);
  }

  async function runNow(button) {
    const result = document.getElementById("action-result");
    const check = button.dataset.check;
    button.disabled = true;
    try {
      const resp = await fetch(button.dataset.run, { method: "POST", headers: headers(), cache: "no-store" });
      let body = {};
      try { body = await resp.json(); } catch (e) { body = {}; }
      if (resp.ok) {
        result.textContent = "Run of " + check + " requested.";
        result.className = "action-result";
      } else {
        result.textContent = "Run now of " + check + " refused (" + resp.status + "): " + (body.error || resp.statusText);
        result.className = "action-result bad";
      }
    } catch (e) {
      result.textContent = "Run now of " + check + " failed: " + e.message;
      result.className = "action-result bad";
    }
    result.hidden = false;
    button.disabled = false;
  }

  document.addEventListener("click", function (event) {
    const button = event.target.closest("button[data-run]");
    if (button) runNow(button);
  });

  document.addEventListener("change", function (event) {
    if (!event.target.closest("#panel-events form.filters")) return;
    const params = filters();
    history.replaceState(null, "", params.toString() ? "?" + params.toString() : location.pathname);
    event.target.blur();
    load("events").catch(function (e) { say(e.message); });
  });

  document.getElementById("token-form").addEventListener("submit", function (event) {
    event.preventDefault();
    const input = document.getElementById("token");
    if (input.value) sessionStorage.setItem(TOKEN, input.value.trim());
    else sessionStorage.removeItem(TOKEN);
    input.value = "";
    input.placeholder = token() ? "token set for this tab" : "for run now";
    refresh();
  });

  document.addEventListener("visibilitychange", function () { if (!document.hidden) refresh(); });
  if (token()) document.getElementById("token").placeholder = "token set for this tab";
  if (notice.textContent && token()) refresh();
  schedule();
})();
