"""Kubernetes label selectors: parse the string form and the matchLabels/matchExpressions form, then match labels."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

_NAME = r"[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?"
_KEY_RE = re.compile(rf"^([a-z0-9]([-a-z0-9.]{{0,251}}[a-z0-9])?/)?{_NAME}$")
_VALUE_RE = re.compile(rf"^({_NAME})?$")
_SET_RE = re.compile(r"^(?P<key>[^\s!=()]+)\s+(?P<op>in|notin)\s*\((?P<values>[^()]*)\)$")
_CMP_RE = re.compile(r"^(?P<key>[^\s!=()]+)\s*(?P<op>==|!=|=)\s*(?P<value>[^\s!=()]*)$")


@dataclass(frozen=True, slots=True)
class Requirement:
    """One clause: key, operator ("=", "!=", "in", "notin", "exists", "!exists") and values."""

    key: str
    op: str
    values: frozenset[str] = frozenset()

    def matches(self, labels: Mapping[str, str]) -> bool:
        op = self.op
        if op == "exists":
            return self.key in labels
        if op == "!exists":
            return self.key not in labels
        value = labels.get(self.key)
        if op in ("=", "in"):
            return value is not None and value in self.values
        # "!=" and "notin" also match objects that lack the key, as the API server does.
        return value is None or value not in self.values

    def __str__(self) -> str:
        if self.op == "exists":
            return self.key
        if self.op == "!exists":
            return f"!{self.key}"
        if self.op in ("=", "!="):
            return f"{self.key}{self.op}{next(iter(self.values))}"
        return f"{self.key} {self.op} ({','.join(sorted(self.values))})"


@dataclass(frozen=True, slots=True)
class LabelSelector:
    """A conjunction of requirements; the empty selector matches everything."""

    requirements: tuple[Requirement, ...] = ()

    def matches(self, labels: Mapping[str, str] | None) -> bool:
        labels = labels or {}
        return all(r.matches(labels) for r in self.requirements)

    @property
    def empty(self) -> bool:
        return not self.requirements

    def __str__(self) -> str:
        return ",".join(str(r) for r in self.requirements)


def _split_top_level(text: str) -> list[str]:
    """Split on commas outside parentheses (commas inside `in (a,b)` belong to the set)."""
    parts, depth, start = [], 0, 0
    for i, ch in enumerate(text):
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        elif ch == "," and depth == 0:
            parts.append(text[start:i])
            start = i + 1
    parts.append(text[start:])
    return parts


def _check_key(key: str, text: str) -> str:
    if not _KEY_RE.match(key):
        raise ValueError(f"invalid label selector {text!r}: {key!r} is not a valid label key")
    return key


def _check_value(value: str, text: str) -> str:
    if not _VALUE_RE.match(value):
        raise ValueError(f"invalid label selector {text!r}: {value!r} is not a valid label value")
    return value


def _parse_clause(clause: str, text: str) -> Requirement:
    if clause.startswith("!"):
        return Requirement(_check_key(clause[1:].strip(), text), "!exists")
    if m := _SET_RE.match(clause):
        values = [v.strip() for v in m["values"].split(",")]
        if values == [""]:
            raise ValueError(f"invalid label selector {text!r}: {m['op']} needs at least one value")
        return Requirement(_check_key(m["key"], text), m["op"], frozenset(_check_value(v, text) for v in values))
    if m := _CMP_RE.match(clause):
        op = "=" if m["op"] in ("=", "==") else "!="
        return Requirement(_check_key(m["key"], text), op, frozenset([_check_value(m["value"], text)]))
    return Requirement(_check_key(clause, text), "exists")


def parse_label_selector(text: str | None) -> LabelSelector:
    """Parse `a=b,c!=d,e in (x,y),f notin (z),g,!h`; ValueError naming the bad clause."""
    if not text or not text.strip():
        return LabelSelector()
    clauses = [c.strip() for c in _split_top_level(text)]
    if any(not c for c in clauses):
        raise ValueError(f"invalid label selector {text!r}: empty clause")
    return LabelSelector(tuple(_parse_clause(c, text) for c in clauses))


_EXPR_OPS = {"In": "in", "NotIn": "notin", "Exists": "exists", "DoesNotExist": "!exists"}


def checked_selector(text: str) -> str:
    """`text` unchanged when it parses; ValueError "'<text>' is not a valid label selector: <why>" otherwise."""
    try:
        parse_label_selector(text)
    except ValueError as exc:
        raise ValueError(f"{text!r} is not a valid label selector: {exc}") from None
    return text


def selector_from_spec(spec: Mapping[str, Any] | None) -> LabelSelector:
    """Build a selector from a metav1.LabelSelector dict (matchLabels + matchExpressions)."""
    if not spec:
        return LabelSelector()
    reqs = [Requirement(str(k), "=", frozenset([str(v)])) for k, v in (spec.get("matchLabels") or {}).items()]
    for expr in spec.get("matchExpressions") or []:
        op = _EXPR_OPS.get(expr.get("operator", ""))
        if op is None:
            raise ValueError(f"label selector: unknown matchExpressions operator {expr.get('operator')!r}")
        values = frozenset(str(v) for v in expr.get("values") or [])
        if op in ("in", "notin") and not values:
            raise ValueError(f"label selector: operator {expr['operator']} on {expr.get('key')!r} needs values")
        reqs.append(Requirement(str(expr.get("key", "")), op, values))
    return LabelSelector(tuple(reqs))
