"""`${VAR}` / `${VAR:-default}` expansion on string values after parsing, so a lone `$` (regex, template) stays."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from kubevigil.config.issues import Loc

_REFERENCE = re.compile(r"\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")
_BARE = re.compile(r"\$\$|\$\{[^}]*\}|\$([A-Za-z_][A-Za-z0-9_]*)")  # group 1: `$NAME` without braces


def bare_variables(data: Any, loc: Loc = ()) -> list[str]:
    """A warning per string value holding `$NAME`: the native format expands only `${NAME}`, so it stays as written."""
    if isinstance(data, dict):
        return [w for key, item in data.items() for w in bare_variables(item, (*loc, key))]
    if isinstance(data, list):
        return [w for index, item in enumerate(data) for w in bare_variables(item, (*loc, index))]
    if isinstance(data, str) and "$" in data:
        names = [m.group(1) for m in _BARE.finditer(data) if m.group(1)]
        if names:
            where = ".".join(map(str, loc))
            return [(f"{where}: ${names[0]} looks like an environment variable, but kubevigil's format expands only "
                     f"${{{names[0]}}} (write $${names[0]} to keep the text and silence this)")]
    return []


def expand_environment(data: Any, environ: Mapping[str, str]) -> tuple[Any, list[tuple[Loc, str]]]:
    """A copy of `data` with references in string values replaced; plus (location, message) per unset variable."""
    problems: list[tuple[Loc, str]] = []
    return _expand(data, (), environ, problems), problems


def _expand(value: Any, loc: Loc, environ: Mapping[str, str], problems: list[tuple[Loc, str]]) -> Any:
    if isinstance(value, dict):
        return {key: _expand(item, (*loc, key), environ, problems) for key, item in value.items()}
    if isinstance(value, list):
        return [_expand(item, (*loc, index), environ, problems) for index, item in enumerate(value)]
    if isinstance(value, str) and "$" in value:
        return _expand_string(value, loc, environ, problems)
    return value


def _expand_string(text: str, loc: Loc, environ: Mapping[str, str], problems: list[tuple[Loc, str]]) -> str:
    def replace(match: re.Match[str]) -> str:
        name, default = match.group(1), match.group(2)
        if name is None:
            return "$"
        if name in environ:
            return environ[name]
        if default is not None:
            return default
        problems.append((loc, f"environment variable '{name}' is not set (write ${{{name}:-default}} to give a default, or $${{{name}}} for a literal)"))
        return match.group(0)

    return _REFERENCE.sub(replace, text)
