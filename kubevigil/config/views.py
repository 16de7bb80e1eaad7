"""What `check-config` and `schema` print: the normalized config (secrets masked) and the JSON Schema."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, SecretBytes, SecretStr
from pydantic_core import to_jsonable_python

from kubevigil import __version__
from kubevigil.config.settings import Settings, SinkEntry, settings_model
from kubevigil.config.tables import Tables

MASK = "***"


def normalized(settings: Settings) -> dict[str, Any]:
    """The config as kubevigil understood it: JSON-able, defaults filled, secrets shown as "***"."""
    view: dict[str, Any] = {}
    for name, info in type(settings).model_fields.items():
        value = getattr(settings, name)
        key = info.alias or name
        if name == "sinks":
            view[key] = {sink: _sink_view(entry) for sink, entry in value.items()}
        elif value is not None or name not in settings.role_names:
            view[key] = _plain(value)
    return view


def _sink_view(entry: SinkEntry) -> dict[str, Any]:
    return {entry.type: _plain(entry.params), "delivery": _plain(entry.delivery)}


def _plain(value: Any) -> Any:
    if isinstance(value, SecretStr | SecretBytes):
        return MASK
    if isinstance(value, BaseModel):
        return {(info.alias or name): _plain(getattr(value, name)) for name, info in type(value).model_fields.items()}
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_plain(v) for v in value]
    return to_jsonable_python(value)


def json_schema(tables: Tables) -> dict[str, Any]:
    """JSON Schema (draft 2020-12) of the native config for these tables' roles and sinks."""
    schema = settings_model(tables).model_json_schema(by_alias=True, mode="validation")
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": f"https://kubevigil.dev/schema/config-{__version__}.json",
        **{k: v for k, v in schema.items() if k != "title"},
        "title": "kubevigil configuration",
    }
