"""Cross-checks of a config against the tables: every sink a role names exists and takes the kind of value the role
sends, and every sink type used has its library installed."""

from __future__ import annotations

import difflib
import re
from typing import Any

from pydantic import ValidationError

from kubevigil.config.issues import Loc
from kubevigil.config.tables import Tables

_PLURAL = {"metric": "metrics", "record": "records"}


def check_sink_refs(data: dict[str, Any], tables: Tables) -> list[tuple[Loc, str]]:
    """(location, message) per bad sink reference in the role sections of `data` (native shape)."""
    defined = _defined_sinks(data)
    problems: list[tuple[Loc, str]] = []
    for role, spec in tables.roles.items():
        section = data.get(role)
        if section is None:
            continue
        try:
            model = spec.config.model_validate(section)
        except ValidationError:
            continue  # the full validation reports these
        for loc, name, kind in model.sink_refs():
            message = _check(role, name, kind, defined, tables)
            if message:
                problems.append(((role, *loc), message))
    return problems


def check_sink_packages(data: dict[str, Any], tables: Tables) -> list[tuple[Loc, str]]:
    """(location, message) per sink whose type needs a Python package that is not installed."""
    problems: list[tuple[Loc, str]] = []
    for name, entry in _defined_sinks(data).items():
        sink_type = _type_of(entry, tables)
        if sink_type is None:
            continue
        for requirement in tables.sinks[sink_type].missing():
            package = re.split(r"[\s<>=!~;\[]", requirement, maxsplit=1)[0]
            problems.append((
                ("sinks", name, sink_type),
                f"needs the Python package {package}, which is not installed (pip install '{requirement}')",
            ))
    return problems


def _defined_sinks(data: dict[str, Any]) -> dict[str, Any]:
    sinks = data.get("sinks")
    return sinks if isinstance(sinks, dict) else {}


def _check(role: str, name: str, kind: str, defined: dict[str, Any], tables: Tables) -> str | None:
    if name not in defined:
        if not defined:
            return f"no sink named {name!r}: the config defines no sinks (add it under `sinks:`)"
        close = difflib.get_close_matches(name, [str(n) for n in defined], n=1, cutoff=0.6)
        hint = f"; did you mean {close[0]!r}?" if close else f"; defined sinks: {', '.join(sorted(map(str, defined)))}"
        return f"no sink named {name!r}{hint}"
    sink_type = _type_of(defined[name], tables)
    spec = tables.sinks.get(sink_type) if sink_type else None
    if spec is None or kind in spec.kinds:
        return None
    takes = " and ".join(_PLURAL.get(k, k) for k in sorted(spec.kinds)) or "nothing"
    return f"sink `{name}` ({sink_type}) takes {takes}; `{role}` sends {_PLURAL.get(kind, kind)}"


def _type_of(entry: Any, tables: Tables) -> str | None:
    if not isinstance(entry, dict):
        return None
    types = [key for key in entry if key in tables.sinks]
    return types[0] if len(types) == 1 else None
