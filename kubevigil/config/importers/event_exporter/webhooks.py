"""event-exporter's HTTP receivers (webhook, teams, loki, slack, opsgenie) as sink params."""

from __future__ import annotations

from typing import Any

from kubevigil.config.importers.event_exporter.receivers import keep_empty_secret, rename_keys, translate_tls

WEBHOOK_KEYS = {"endpoint": "endpoint", "headers": "headers", "layout": "layout", "tls": "tls"}
WEBHOOK_DROPPED = {"streamName": "not an option of event-exporter's webhook receiver either (it ignores it); ignored"}
TEAMS_KEYS = {"endpoint": "endpoint", "layout": "layout", "tls": "tls"}
LOKI_KEYS = {"url": "url", "streamLabels": "stream_labels", "headers": "headers", "layout": "layout", "tls": "tls"}
SLACK_KEYS = {"token": "token", "channel": "channel", "message": "message", "title": "title", "color": "color",
              "footer": "footer", "author_name": "author_name", "fields": "fields"}
OPSGENIE_KEYS = {"apiKey": "api_key", "message": "message", "alias": "alias", "description": "description",
                 "priority": "priority", "tags": "tags", "details": "details", "entity": "entity"}


def webhook(cfg: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    return _with_tls("webhook", *rename_keys("webhook", cfg, WEBHOOK_KEYS, WEBHOOK_DROPPED))


def teams(cfg: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """event-exporter posts `{"summary": "event", "text": ...}`, the text made from the layout's (or the event's)
    `message`, `reason` and `metadata`; the translated layout posts exactly that."""
    dropped = {"headers": "Teams webhooks take no custom headers; ignored"}
    params, notes = _with_tls("teams", *rename_keys("teams", cfg, TEAMS_KEYS, dropped))
    layout = params.get("layout")
    fields = layout if isinstance(layout, dict) else {}
    parts = {key: fields.get(key) if isinstance(fields.get(key), str) else "" for key in ("message", "reason", "metadata")}
    if not isinstance(layout, dict):
        parts = {"message": "{{ message }}", "reason": "{{ reason }}", "metadata": "{{ metadata | tojson }}"}
    text = f"Event: {parts['message']} \nStatus: {parts['reason']} \nMetadata: {parts['metadata']}"
    params["layout"] = {"summary": "event", "text": text}
    return params, notes


def loki(cfg: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    return _with_tls("loki", *rename_keys("loki", cfg, LOKI_KEYS, {}))


def slack(cfg: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    params, notes = rename_keys("slack", cfg, SLACK_KEYS, {})
    notes += keep_empty_secret("slack", params, "token", "token")
    return params, notes


def opsgenie(cfg: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    params, notes = rename_keys("opsgenie", cfg, OPSGENIE_KEYS, {})
    notes += keep_empty_secret("opsgenie", params, "api_key", "apiKey")
    return params, notes


def _with_tls(receiver: str, params: dict[str, Any], notes: list[str]) -> tuple[dict[str, Any], list[str]]:
    if "tls" in params:
        params["tls"], tls_notes = translate_tls(receiver, params["tls"])
        notes += tls_notes
    return params, notes
