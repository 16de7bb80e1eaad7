"""Checks that every sink a role section names exists and takes the kind of value the role sends."""

from __future__ import annotations

import difflib
from typing import Any

from pydantic import ValidationError

from kubevigil.config.issues import Loc
from kubevigil.roles import registry as role_table
from kubevigil.sinks import registry as sink_table

_PLURAL = {"metric": "metrics", "record": "records"}


def check_sink_refs(data: dict[str, Any]) -> list[tuple[Loc, str]]:
    """(location, message) per bad sink reference in the role sections of `data` (native shape)."""
    sinks = data.get("sinks")
    defined = sinks if isinstance(sinks, dict) else {}
    problems: list[tuple[Loc, str]] = []
    for role, spec in role_table.ROLES.items():
        section = data.get(role)
        if section is None:
            continue
        try:
            model = spec.config_model.model_validate(section)
        except ValidationError:
            continue  # the full validation reports these
        refs = getattr(model, "sink_refs", None)
        if refs is None:
            continue
        for loc, name, kind in refs():
            message = _check(role, name, kind, defined)
            if message:
                problems.append(((role, *loc), message))
    return problems


def _check(role: str, name: str, kind: str, defined: dict[str, Any]) -> str | None:
    if name not in defined:
        if not defined:
            return f"no sink named {name!r}: the config defines no sinks (add it under `sinks:`)"
        close = difflib.get_close_matches(name, [str(n) for n in defined], n=1, cutoff=0.6)
        hint = f"; did you mean {close[0]!r}?" if close else f"; defined sinks: {', '.join(sorted(map(str, defined)))}"
        return f"no sink named {name!r}{hint}"
    sink_type = _type_of(defined[name])
    spec = sink_table.SINKS.get(sink_type) if sink_type else None
    if spec is None or kind in spec.kinds:
        return None
    takes = " and ".join(_PLURAL.get(k, k) for k in sorted(spec.kinds)) or "nothing"
    return f"sink `{name}` ({sink_type}) takes {takes}; `{role}` sends {_PLURAL.get(kind, kind)}"


def _type_of(entry: Any) -> str | None:
    if not isinstance(entry, dict):
        return None
    types = [key for key in entry if key in sink_table.SINKS]
    return types[0] if len(types) == 1 else None
