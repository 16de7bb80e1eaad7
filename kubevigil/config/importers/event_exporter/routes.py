"""event-exporter's route tree (drop, match, routes) and its rules, in the native `events.route` shape."""

from __future__ import annotations

import re
from typing import Any

from kubevigil.config.issues import ConfigIssue, Loc, dotted
from kubevigil.core.patterns import compile_pattern, glob_hint

ROUTE_KEYS = ("drop", "match", "routes")
PATTERN_KEYS = ("message", "apiVersion", "kind", "namespace", "reason", "type", "component", "host")
RULE_KEYS = (*PATTERN_KEYS, "labels", "annotations", "minCount", "receiver")
_GLOB = re.compile(r"[^()\[\]{}|\\^$+]*[*?][^()\[\]{}|\\^$+]*")  # `*` or `?`, and no other regex syntax
# native field name -> the key event-exporter's file uses, for errors found while validating the translation
_ORIGINAL_NAMES = {"api_version": "apiVersion", "min_count": "minCount"}


def route_origin(rest: Loc) -> Loc:
    """A key path under the native `events.route` as the path under the file's `route`."""
    return tuple(_ORIGINAL_NAMES.get(p, p) if isinstance(p, str) else p for p in rest)


def translate_route(route: Any, loc: Loc, warnings: list[str], issues: list[ConfigIssue]) -> dict[str, Any]:
    if not isinstance(route, dict):
        issues.append(ConfigIssue.at(loc, "a route must be a mapping with drop, match and routes"))
        return {}
    out: dict[str, Any] = {}
    for key, value in route.items():
        if key not in ROUTE_KEYS:
            issues.append(ConfigIssue.at((*loc, key), f"unknown key '{key}' in a route (known: {', '.join(ROUTE_KEYS)})"))
        elif not isinstance(value, list):
            issues.append(ConfigIssue.at((*loc, key), f"{key} must be a list"))
        elif key == "routes":
            out["routes"] = [translate_route(r, (*loc, key, i), warnings, issues) for i, r in enumerate(value)]
        else:
            out[key] = [_rule(r, (*loc, key, i), warnings, issues) for i, r in enumerate(value)]
    return out


def _rule(rule: Any, loc: Loc, warnings: list[str], issues: list[ConfigIssue]) -> dict[str, Any]:
    if not isinstance(rule, dict):
        issues.append(ConfigIssue.at(loc, "a rule must be a mapping"))
        return {}
    out: dict[str, Any] = {}
    for key, value in rule.items():
        if key not in RULE_KEYS:
            issues.append(ConfigIssue.at((*loc, key), f"unknown key '{key}' in a rule (known: {', '.join(RULE_KEYS)})"))
        elif key in ("labels", "annotations") and isinstance(value, dict):
            out[key] = {k: _pattern(str(v), (*loc, key, k), warnings, issues) for k, v in value.items()}
        elif key in ("minCount", "receiver"):
            out[key] = value
        else:
            out[key] = _pattern(str(value), (*loc, key), warnings, issues)
    return out


def _pattern(pattern: str, loc: Loc, warnings: list[str], issues: list[ConfigIssue]) -> str:
    """A regex as is; a glob that is no valid regex (`*test*`) read as the glob its author meant, with a warning.

    Any other invalid pattern is an error: event-exporter silently never matched it."""
    try:
        compile_pattern(pattern)
        return pattern
    except ValueError as exc:
        reason = str(exc)
    if not _GLOB.fullmatch(pattern):
        issues.append(ConfigIssue.at(loc, f"{pattern!r} is not a valid regular expression (RE2 syntax, as Go's: "
                                     f"{reason}); event-exporter never matches it"))
        return pattern
    fixed = glob_hint(pattern)
    warnings.append(f"{dotted(loc)}: {pattern!r} is not a valid regular expression, so event-exporter never matched it; "
                    f"kubevigil reads it as the glob it looks like: {fixed!r}")
    return fixed


def receivers_in(route: Any) -> set[str]:
    """Every receiver name a route tree sends to."""
    found: set[str] = set()
    if not isinstance(route, dict):
        return found
    for key in ("drop", "match"):
        for rule in _list(route.get(key)):
            if isinstance(rule, dict) and rule.get("receiver"):
                found.add(str(rule["receiver"]))
    for sub in _list(route.get("routes")):
        found |= receivers_in(sub)
    return found


def _list(value: Any) -> list[Any]:
    """A list as is; anything else (reported by translate_route) as empty."""
    return value if isinstance(value, list) else []
