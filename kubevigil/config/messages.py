"""pydantic's validation errors in plain words, with "did you mean" for unknown keys."""

from __future__ import annotations

import difflib
import types
import typing
from collections.abc import Iterable
from typing import Any

from pydantic import BaseModel, SecretBytes, SecretStr
from pydantic_core import ErrorDetails

from kubevigil import __version__
from kubevigil.config.issues import Loc
from kubevigil.config.settings import Settings, SinkEntry, sink_types
from kubevigil.core.model import Model


def describe_errors(errors: Iterable[ErrorDetails], root: type[BaseModel], data: Any) -> list[tuple[Loc, str]]:
    """(key path in the data, message) for each pydantic error of validating `data` against `root`."""
    errors = _best_union_members(list(errors), root)
    typos = [(tuple(e["loc"][:-1]), str(e["loc"][-1])) for e in errors if e["type"] == "extra_forbidden" and e["loc"]]
    described = [(e, describe_error(e, root, data)) for e in errors if not _explained_by_typo(e, typos)]
    deeper = {loc[:end] for _, (loc, _) in described for end in range(len(loc))}
    # a union reports every member's complaint; a shape mismatch where another member got further is noise
    kept = [(e, d) for e, d in described if not (d[0] in deeper and _is_shape_mismatch(e))]
    return _one_line_per_union(kept, root)


def _union_tag(root: Any, loc: Loc) -> int | None:
    """Where pydantic's `loc` names a union member (it inserts the member's name after a union field), if it does."""
    current: list[Any] = [root]
    for index, part in enumerate(loc):
        members = [m for a in current for m in _members(a) if m is not type(None)]
        if len(members) > 1:
            return index
        current = [child for c in current for child in _child_types(c, part)]
    return None


def _best_union_members(errors: list[ErrorDetails], root: Any) -> list[ErrorDetails]:
    """Of the members of one union, keep only the errors of those the value fits best (fewest wrong or missing keys).

    `{AtLeast: 1e30}` is a mode that is too large, not also a Percent without its key and a string it is not."""
    sites: dict[Loc, dict[str, list[ErrorDetails]]] = {}
    for error in errors:
        loc = tuple(error["loc"])
        index = _union_tag(root, loc)
        if index is not None:
            sites.setdefault(loc[:index], {}).setdefault(str(loc[index]), []).append(error)
    dropped: set[int] = set()
    for site, members in sites.items():
        misfits = {tag: sum(_misfit(e, len(site) + 1) for e in errs) for tag, errs in members.items()}
        best = min(misfits.values())
        dropped.update(id(e) for tag, errs in members.items() if misfits[tag] > best for e in errs)
    return [e for e in errors if id(e) not in dropped]


def _misfit(error: ErrorDetails, depth: int) -> int:
    """How badly the value misses this union member: another kind of value entirely, or a wrong or missing key."""
    if len(error["loc"]) == depth and _is_shape_mismatch(error):
        return 1000
    return int(error["type"] in ("extra_forbidden", "missing"))


def _one_line_per_union(described: list[tuple[ErrorDetails, tuple[Loc, str]]], root: Any) -> list[tuple[Loc, str]]:
    """Shape mismatches of several union members at one key become one line naming every accepted form."""
    by_loc: dict[Loc, list[ErrorDetails]] = {}
    for error, (loc, _) in described:
        if _is_shape_mismatch(error) and _union_tag(root, tuple(error["loc"])) is not None:
            by_loc.setdefault(loc, []).append(error)
    out: list[tuple[Loc, str]] = []
    for error, (loc, message) in described:
        group = by_loc.get(loc, [])
        if len(group) < 2:
            out.append((loc, message))
        elif error is group[0]:
            out.append((loc, _accepted_forms(group, root)))
    return out


def _accepted_forms(group: list[ErrorDetails], root: Any) -> str:
    literals = [str((e.get("ctx") or {}).get("expected")) for e in group if e["type"] == "literal_error"]
    models = [str((e.get("ctx") or {}).get("class_name")) for e in group if e["type"] == "model_type"]
    others = [_plain(e, hide_input=True).removeprefix("expected ") for e in group
              if e["type"] not in ("literal_error", "model_type")]
    forms = literals + others
    if models:
        forms.append("a mapping with " + " or ".join(models))
    value = group[0].get("input")
    text = f"must be {', or '.join(forms)}; got {_show(value)}"
    if isinstance(value, str):
        choices = [c.strip("'") for lit in literals for c in lit.replace(" or ", ", ").split(", ")]
        close = difflib.get_close_matches(value, choices, n=1, cutoff=0.6)
        text += f"; did you mean {close[0]!r}?" if close else ""
    return text


def _is_shape_mismatch(error: ErrorDetails) -> bool:
    return error["type"] in ("literal_error", "enum") or error["type"].endswith(("_type", "_parsing"))


def _explained_by_typo(error: ErrorDetails, typos: list[tuple[Loc, str]]) -> bool:
    """A missing key next to an unknown key that looks like it: the unknown key's message says it all."""
    if error["type"] != "missing" or not error["loc"]:
        return False
    parent, key = tuple(error["loc"][:-1]), str(error["loc"][-1])
    return any(p == parent and difflib.get_close_matches(typo, [key], n=1, cutoff=0.6) for p, typo in typos)


def describe_error(error: ErrorDetails, root: type[BaseModel], data: Any) -> tuple[Loc, str]:
    loc = data_loc(tuple(error["loc"]), data, error["type"])
    if error["type"] == "extra_forbidden":
        return loc, _unknown_key(loc, root)
    leaf = types_at(root, loc)
    return loc, _plain(error, hide_input=any(_is_secret(t) for t in leaf))


def data_loc(loc: Loc, data: Any, kind: str) -> Loc:
    """Keep the parts of pydantic's `loc` that are keys in the data (dropping union member tags)."""
    kept: list[str | int] = []
    current = data
    for index, part in enumerate(loc):
        if _holds(current, part):
            current = current[part]
        elif not (index == len(loc) - 1 and kind == "missing"):
            continue
        kept.append(part)
    return tuple(kept)


def _holds(container: Any, part: str | int) -> bool:
    """Whether `container[part]` exists in parsed YAML (a mapping key or a list index)."""
    if isinstance(container, dict):
        return part in container
    return isinstance(container, list) and isinstance(part, int) and 0 <= part < len(container)


def types_at(root: Any, loc: Loc) -> list[Any]:
    """Every type the models allow at `loc` (several where a union leaves it open)."""
    current: list[Any] = [root]
    for part in loc:
        nxt: list[Any] = []
        for candidate in current:
            nxt.extend(_child_types(candidate, part))
        current = nxt
    return current


def _child_types(annotation: Any, part: str | int) -> list[Any]:
    found: list[Any] = []
    for member in _members(annotation):
        origin = typing.get_origin(member)
        if isinstance(member, type) and issubclass(member, BaseModel):
            for name, info in member.model_fields.items():
                if part in (name, info.alias):
                    found.append(info.annotation)
        elif origin in (dict, typing.Mapping) or (origin is not None and _is_mapping(origin)):
            args = typing.get_args(member)
            found.append(args[1] if len(args) == 2 else Any)
        elif origin in (list, tuple, set, frozenset) or (origin is not None and _is_sequence(origin)):
            items = [a for a in typing.get_args(member) if a is not Ellipsis]
            at = items[part : part + 1] if origin is tuple and isinstance(part, int) else []
            found.extend(at or items[:1])
    return found


def _members(annotation: Any) -> list[Any]:
    """Unwrap Optional / Union / Annotated into the concrete types."""
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return _members(typing.get_args(annotation)[0])
    if origin in (typing.Union, types.UnionType):
        return [m for arg in typing.get_args(annotation) for m in _members(arg)]
    return [annotation]


def _is_mapping(origin: Any) -> bool:
    import collections.abc

    return isinstance(origin, type) and issubclass(origin, collections.abc.Mapping)


def _is_sequence(origin: Any) -> bool:
    import collections.abc

    return isinstance(origin, type) and issubclass(origin, collections.abc.Sequence | collections.abc.Set) and origin is not str


def _is_secret(annotation: Any) -> bool:
    return any(m in (SecretStr, SecretBytes) for m in _members(annotation))


def valid_keys(annotations: Iterable[Any]) -> list[str]:
    """The keys a mapping of one of these model types may hold (field names and aliases)."""
    keys: list[str] = []
    for annotation in annotations:
        for member in _members(annotation):
            if isinstance(member, type) and issubclass(member, Settings):
                keys.extend(k for k in member.valid_keys() if k not in keys)
            elif isinstance(member, type) and issubclass(member, BaseModel):
                for name, info in member.model_fields.items():
                    keys.extend(k for k in (info.alias, name) if k and k not in keys)
    return keys


def _unknown_key(loc: Loc, root: type[BaseModel]) -> str:
    key = str(loc[-1]) if loc else ""
    parents = types_at(root, loc[:-1])
    if len(loc) == 1 and _is_planned_role(root, key):
        return f"this role is not available in kubevigil {__version__} (planned); remove the section"
    moved = [m.moved_keys[key] for p in parents for m in _members(p)
             if isinstance(m, type) and issubclass(m, Model) and key in m.moved_keys]
    if moved:
        return f"{key!r} has moved to {moved[0]}"
    entries = [m for p in parents for m in _members(p) if isinstance(m, type) and issubclass(m, SinkEntry)]
    if entries:
        return _unknown_sink_type(key, sorted({t for e in entries for t in sink_types(e)}))
    choices = valid_keys(parents)
    return f"unknown key {key!r}{_suggestion(key, choices, 'valid keys')}"


def _is_planned_role(root: type[BaseModel], key: str) -> bool:
    return issubclass(root, Settings) and key in root.planned_roles and key not in root.role_names


def _unknown_sink_type(key: str, known: list[str]) -> str:
    if difflib.get_close_matches(key, ["delivery"], n=1, cutoff=0.75):
        return f"unknown key {key!r}; did you mean 'delivery'?"
    if not known:
        return f"unknown sink type {key!r}; no sink types are installed in kubevigil {__version__}"
    return f"unknown sink type {key!r}{_suggestion(key, known, 'known types')}"


def _suggestion(key: str, choices: list[str], label: str) -> str:
    close = difflib.get_close_matches(key, choices, n=1, cutoff=0.6)
    if close:
        return f"; did you mean {close[0]!r}?"
    return f"; {label}: {', '.join(sorted(choices))}" if choices else ""


_TYPE_WORDS = {
    "int": "an integer",
    "float": "a number",
    "bool": "true or false",
    "string": "a string",
    "dict": "a mapping",
    "model": "a mapping",
    "list": "a list",
    "tuple": "a list",
    "set": "a list",
    "path": "a path",
    "enum": "one of the listed values",
}

_BOUNDS = {
    "greater_than": ("greater than", "gt"),
    "greater_than_equal": ("at least", "ge"),
    "less_than": ("less than", "lt"),
    "less_than_equal": ("at most", "le"),
}


def _plain(error: ErrorDetails, hide_input: bool) -> str:
    kind = error["type"]
    ctx = error.get("ctx") or {}
    got = "" if hide_input else f"; got {_show(error.get('input'))}"
    if kind == "missing":
        return "required key is missing"
    if kind in _BOUNDS:
        words, key = _BOUNDS[kind]
        return f"must be {words} {_number(ctx.get(key))}{got}"
    if kind == "literal_error":
        return f"must be {ctx.get('expected')}{got}"
    if kind in ("value_error", "assertion_error"):
        return str(ctx.get("error") or error["msg"])
    if kind in ("string_too_short", "too_short") and ctx.get("min_length") == 1:
        return f"must not be empty{got}"
    if kind == "string_too_short":
        return f"must be at least {ctx.get('min_length')} characters{got}"
    if kind == "string_too_long":
        return f"must be at most {ctx.get('max_length')} characters{got}"
    if kind == "too_short":
        return f"needs at least {ctx.get('min_length')} items{got}"
    if kind == "too_long":
        return f"may have at most {ctx.get('max_length')} items{got}"
    if kind == "string_pattern_mismatch":
        return f"must match the pattern {ctx.get('pattern')}{got}"
    base = kind.removesuffix("_type").removesuffix("_parsing").removesuffix("_from_float").removesuffix("_attributes_type")
    if kind.endswith(("_type", "_parsing", "_from_float")) and base in _TYPE_WORDS:
        return f"expected {_TYPE_WORDS[base]}{got}"
    if kind.startswith("model_") and kind.endswith("type"):
        return f"expected a mapping{got}"
    message = error["msg"]
    return message[:1].lower() + message[1:] + got


def _number(value: Any) -> Any:
    return int(value) if isinstance(value, float) and value.is_integer() else value


def _show(value: Any) -> str:
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if value is None:
        return "null (empty)"
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
