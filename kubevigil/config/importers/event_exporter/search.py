"""event-exporter's `elasticsearch` and `opensearch` receivers as the search sinks' params."""

from __future__ import annotations

from typing import Any

from kubevigil.config.importers.event_exporter.receivers import rename_keys, translate_tls
from kubevigil.config.importers.gotemplate import translate_time_pattern
from kubevigil.config.issues import ConfigError, ConfigIssue

KEYS = {"hosts": "hosts", "index": "index", "indexFormat": "index", "username": "username",
        "password": "password", "apiKey": "api_key", "deDot": "de_dot", "layout": "layout", "tls": "tls"}
ELASTICSEARCH_KEYS = {**KEYS, "cloudID": "cloud_id", "headers": "headers"}
DROPPED = {
    "useEventID": "ignored: kubevigil always sets the document id to the event uid plus its occurrence count, "
                  "so a retry or restart never duplicates a document",
    "type": "ignored: mapping types were removed from Elasticsearch 7 and OpenSearch",
}


def elasticsearch(cfg: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """Elasticsearch also takes `cloudID` (an Elastic Cloud id instead of hosts) and `headers` (on every request)."""
    return search_params(cfg, "elasticsearch", ELASTICSEARCH_KEYS)


def opensearch(cfg: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    return search_params(cfg, "opensearch", KEYS)


def search_params(cfg: dict[str, Any], receiver: str, keys: dict[str, str]) -> tuple[dict[str, Any], list[str]]:
    """The receiver's keys as the search sink's params, with what is treated differently."""
    params, warnings = rename_keys(receiver, cfg, keys, DROPPED)
    if "indexFormat" in cfg:
        params["index"] = translate_time_pattern(cfg["indexFormat"])
    username, password = params.pop("username", None), params.pop("password", "")
    if username:
        params["basic_auth"] = {"username": username, "password": password}
    if "tls" in params:
        tls, notes = translate_tls(receiver, params.pop("tls"))
        warnings += notes
        params["verify_tls"] = not tls.get("insecure_skip_verify", False)
        if tls.get("ca_file"):
            params["ca_file"] = tls["ca_file"]
        for unsupported in ("cert_file", "key_file"):
            if tls.get(unsupported):
                raise ConfigError([ConfigIssue.at(("tls",), f"{unsupported}: client certificates are not supported by the {receiver} sink")])
    return params, warnings
