"""kubernetes-event-exporter's `webhook` receiver as this sink's params."""

from __future__ import annotations

from typing import Any

from kubevigil.sinks.receiver_keys import rename_keys

KEYS = {"endpoint": "endpoint", "headers": "headers", "layout": "layout", "tls": "tls"}
DROPPED = {"streamName": "not an option of event-exporter's webhook receiver either (it ignores it); ignored"}
TLS_KEYS = {"insecureSkipVerify": "insecure_skip_verify", "caFile": "ca_file", "certFile": "cert_file", "keyFile": "key_file"}


def translate(cfg: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    params, notes = rename_keys("webhook", cfg, KEYS, DROPPED)
    if "tls" in params:
        params["tls"], tls_notes = translate_tls("webhook", params["tls"])
        notes += tls_notes
    return params, notes


def translate_tls(receiver: str, tls: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """event-exporter's `tls:` block (shared by its HTTP receivers) as TlsParams keys."""
    return rename_keys(f"{receiver} tls", tls, TLS_KEYS, {"serverName": "kubevigil verifies the endpoint's own host name; ignored"})
