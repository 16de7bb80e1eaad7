"""What `check-config` and `schema` print: the normalized config (secrets masked) and the JSON Schema."""

from __future__ import annotations

import functools
import json
import math
import re
from typing import Any

import yaml

from kubevigil import __version__
from kubevigil.config.settings import Settings, SinkEntry, settings_model
from kubevigil.config.tables import Tables
from kubevigil.core.secrets import view as _plain


def normalized(settings: Settings) -> dict[str, Any]:
    """The config as kubevigil understood it: JSON-able, defaults filled, every secret its models mark (and every
    value `${VAR}` took from a secret-looking variable) shown as "***"."""
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


def json_schema(tables: Tables) -> dict[str, Any]:
    """JSON Schema (draft 2020-12) of the native config for these tables' roles and sinks."""
    schema = settings_model(tables).model_json_schema(by_alias=True, mode="validation")
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": f"https://kubevigil.dev/schema/config-{__version__}.json",
        **{k: v for k, v in schema.items() if k != "title"},
        "title": "kubevigil configuration",
    }


_PLAIN = re.compile(r"[A-Za-z_/.][A-Za-z0-9_./-]*")
_RESOLVER: Any = yaml.resolver.Resolver()  # PyYAML's resolver is untyped


def as_yaml(view: Any) -> str:
    """`view` (JSON-able plain values) as block-style YAML; linear and a few times faster than PyYAML's representer."""
    out: list[str] = []
    _emit(view, "", out)
    return "\n".join(out) + "\n"


def _emit(value: Any, indent: str, out: list[str]) -> None:
    """Append the lines of `value`, a mapping or list, each line starting with `indent`."""
    if isinstance(value, dict):
        for key, item in value.items():
            head = f"{indent}{_scalar(str(key))}:"
            if isinstance(item, dict | list) and item:
                out.append(head)
                _emit(item, indent + "  ", out)
            else:
                out.append(f"{head} {_scalar(item)}")
    else:
        for item in value:
            if isinstance(item, dict | list) and item:
                first = len(out)
                _emit(item, indent + "  ", out)
                out[first] = f"{indent}- {out[first][len(indent) + 2:]}"
            else:
                out.append(f"{indent}- {_scalar(item)}")


def _scalar(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return _float(value)
    if isinstance(value, dict | list):
        return "{}" if isinstance(value, dict) else "[]"
    return _string(str(value))


def _float(value: float) -> str:
    if math.isnan(value):
        return ".nan"
    if math.isinf(value):
        return ".inf" if value > 0 else "-.inf"
    mantissa, e, exponent = repr(value).partition("e")
    mantissa += "" if "." in mantissa else ".0"  # YAML 1.1 reads a float only with a dot: 1.0e+300, not 1e+300
    return mantissa + e + exponent


@functools.lru_cache(maxsize=4096)
def _string(text: str) -> str:
    """Plain when YAML reads it back as this same string, else double-quoted (JSON escapes are YAML escapes)."""
    if _PLAIN.fullmatch(text) and _RESOLVER.resolve(yaml.ScalarNode, text, (True, False)) == "tag:yaml.org,2002:str":
        return text
    return json.dumps(text, ensure_ascii=False)
