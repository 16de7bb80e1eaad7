"""Writes docs/sinks.md from the sink table, so the reference cannot drift from the params models.

Run: .venv/bin/python scripts/sink_reference.py > docs/sinks.md   (tests/runtime/test_docs.py checks it is current)
"""

from __future__ import annotations

import re
import sys
from typing import Any, get_args

from pydantic import BaseModel
from pydantic_core import PydanticUndefined

from kubevigil.sinks.registry import SINKS


def _type_name(annotation: Any) -> str:
    text = str(annotation) if get_args(annotation) else getattr(annotation, "__name__", str(annotation))
    for noise in ("typing.", "pydantic.types.", "kubevigil.sinks.", "kubevigil.", "<class '", "'>"):
        text = text.replace(noise, "")
    return re.sub(r"Annotated\[(\w+), .*?\)\]", r"template", text).replace("NoneType", "None")


def _default(field: Any) -> str:
    if field.default is PydanticUndefined and field.default_factory is None:
        return "**required**"
    value = field.default_factory() if field.default_factory is not None else field.default
    return f"`{value!r}`".replace("|", "\\|") if value not in (None, "") else "—"


def params_table(model: type[BaseModel]) -> list[str]:
    rows = ["| key | type | default | meaning |", "|---|---|---|---|"]
    for name, field in model.model_fields.items():
        meaning = (field.description or "").replace("|", "\\|")
        kind = _type_name(field.annotation).replace("|", "\\|")
        rows.append(f"| `{name}` | {kind} | {_default(field)} | {meaning} |")
    return rows


def render() -> str:
    lines = [
        "# Sinks",
        "",
        "Generated from the sink table by `scripts/sink_reference.py`; do not edit by hand.",
        "A sink is declared once under `sinks:` with exactly one of these types, plus optional `delivery:` settings",
        "(see [delivery.md](delivery.md)); roles and routes refer to it by its name.",
        "",
        "| sink | takes | what it does |",
        "|---|---|---|",
    ]
    lines += [f"| [`{n}`](#{n}) | {', '.join(sorted(s.kinds))} | {s.summary} |" for n, s in SINKS.items()]
    for name, spec in SINKS.items():
        lines += ["", f"## {name}", "", spec.summary + ".", "", *params_table(spec.params)]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.stdout.write(render())
