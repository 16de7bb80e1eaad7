"""What every receiver translation shares: renaming keys to a sink's params, empty credentials, the `tls:` block."""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from typing import Any

from kubevigil.config.issues import ConfigError, ConfigIssue

SENT_UPDATE_EVENT = (
    "not a receiver option in kubevigil; repeats are chosen for the whole events role (events.repeats: all|first|none)"
)


def rename_keys(
    receiver: str, cfg: Any, keys: Mapping[str, str], dropped: Mapping[str, str]
) -> tuple[dict[str, Any], list[str]]:
    """Params under kubevigil's names, and a warning per dropped key; unknown keys raise ConfigError.

    `keys` maps the original's key to the param, `dropped` a key kubevigil does not take to the reason.
    Issue locations and warnings are relative to the receiver's `<receiver>:` mapping; the caller prefixes them."""
    if not isinstance(cfg, Mapping):
        raise ConfigError([ConfigIssue.at((), f"the {receiver} receiver must be a mapping, got {type(cfg).__name__}")])
    known = sorted([*keys, *dropped])
    issues = [ConfigIssue.at((key,), _unknown(receiver, str(key), known)) for key in cfg if key not in known]
    if issues:
        raise ConfigError(issues)
    params = {keys[k]: v for k, v in cfg.items() if k in keys and v not in (None, "")}
    warnings = [f"{k}: {dropped[k]}" for k in cfg if k in dropped]
    return params, warnings


def _unknown(receiver: str, key: str, known: list[str]) -> str:
    close = difflib.get_close_matches(key, known, n=1)
    hint = f"did you mean '{close[0]}'?" if close else f"{receiver} receiver keys: {', '.join(known)}"
    return f"unknown key '{key}'; {hint}"


def keep_empty_secret(receiver: str, params: dict[str, Any], key: str, original: str) -> list[str]:
    """An empty credential still loads (event-exporter's own example has `apiKey: ""`), with a warning of what follows."""
    if params.get(key):
        return []
    params[key] = ""
    return [(f"{receiver} receiver: {original} is empty: the service would reject every request, so kubevigil sends "
             f"none and puts each record in the dead-letter file; set {original}")]


TLS_KEYS = {"insecureSkipVerify": "insecure_skip_verify", "caFile": "ca_file", "certFile": "cert_file", "keyFile": "key_file"}


def translate_tls(receiver: str, tls: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """event-exporter's `tls:` block (shared by its HTTP receivers) as TlsParams keys."""
    return rename_keys(f"{receiver} tls", tls, TLS_KEYS, {"serverName": "kubevigil verifies the endpoint's own host name; ignored"})
