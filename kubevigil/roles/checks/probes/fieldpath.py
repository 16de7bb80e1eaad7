"""A small path language over Kubernetes objects, and a comparison of what it finds with a value.

`status.readyReplicas`, `status.conditions[type=Available].status`, `status.containerStatuses[*].state.waiting.reason`,
`metadata.labels['app.kubernetes.io/name']`, `spec.containers[0].image`; kubectl's `{.status.conditions[?(@.type=="Ready")].status}`
is read too. A path finds zero or more values; a comparison holds when any of them satisfies it.
"""

from __future__ import annotations

import math
import operator
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import Field, model_validator

from kubevigil.core.model import Model

Op = Literal["==", "!=", "<", "<=", ">", ">=", "exists"]
_ORDERING = frozenset({"<", "<=", ">", ">="})
_KEY = re.compile(r"\.?([A-Za-z0-9_$-]+)")
_BRACKET = re.compile(r"\[([^\]]*)\]")
_QUOTED = re.compile(r"""^(?:'([^']*)'|"([^"]*)")$""")
_JSONPATH_FILTER = re.compile(r"""^\?\(@\.([A-Za-z0-9_.$/-]+)\s*==\s*(.+)\)$""")
_WHERE = re.compile(r"^([A-Za-z0-9_.$/-]+)=(.*)$")
SHOWN_VALUES = 3


@dataclass(frozen=True, slots=True)
class Key:
    name: str


@dataclass(frozen=True, slots=True)
class Index:
    at: int


@dataclass(frozen=True, slots=True)
class Every:
    pass


@dataclass(frozen=True, slots=True)
class Where:
    key: str
    value: str


Step = Key | Index | Every | Where


def parse_path(text: str) -> tuple[Step, ...]:
    """The steps of a path; ValueError naming the position it cannot read."""
    body = text.strip()
    if body.startswith("{") and body.endswith("}"):
        body = body[1:-1].strip()
    steps: list[Step] = []
    pos = 0
    while pos < len(body):
        if body[pos] == "[":
            m = _BRACKET.match(body, pos)
            if not m:
                raise ValueError(f"{text!r}: unclosed '[' at {body[pos:]!r}")
            steps.append(_bracket(m.group(1).strip(), text))
        else:
            m = _KEY.match(body, pos)
            if not m or (pos > 0 and body[pos] != "."):
                raise ValueError(f"{text!r}: cannot read the path at {body[pos:]!r}")
            steps.append(Key(m.group(1)))
        pos = m.end()
    if not steps:
        raise ValueError("the path is empty")
    return tuple(steps)


def _bracket(inner: str, text: str) -> Step:
    if inner == "*":
        return Every()
    if re.fullmatch(r"-?\d+", inner):
        return Index(int(inner))
    if m := _QUOTED.match(inner):
        return Key(m.group(1) if m.group(1) is not None else m.group(2))
    if m := _JSONPATH_FILTER.match(inner) or _WHERE.match(inner):
        value = m.group(2).strip()
        quoted = _QUOTED.match(value)
        return Where(m.group(1), (quoted.group(1) if quoted.group(1) is not None else quoted.group(2))
                     if quoted else value)
    raise ValueError(f"{text!r}: [{inner}] is not [*], [N], ['key'], [key=value] or [?(@.key==\"value\")]")


def values_at(obj: Any, steps: tuple[Step, ...]) -> list[Any]:
    """Every non-null value the path reaches in `obj`."""
    current = [obj]
    for step in steps:
        current = [found for value in current for found in _step(value, step)]
    return [value for value in current if value is not None]


def _step(value: Any, step: Step) -> list[Any]:
    if isinstance(step, Key):
        return [value[step.name]] if isinstance(value, dict) and step.name in value else []
    if isinstance(step, Index):
        return [value[step.at]] if isinstance(value, list) and -len(value) <= step.at < len(value) else []
    if isinstance(step, Every):
        return list(value) if isinstance(value, list) else list(value.values()) if isinstance(value, dict) else []
    if isinstance(value, list):
        return [item for item in value if isinstance(item, dict) and text_of(item.get(step.key)) == step.value]
    return []


class FieldTest(Model):
    """`path` compared with `value` by `op`; `exists` passes when the path finds any value."""

    path: str = Field(description="Where in the object, e.g. status.readyReplicas")
    op: Op = "=="
    value: bool | float | str | None = Field(None, description="What to compare with; a number for <, <=, >, >=")

    @model_validator(mode="after")
    def _consistent(self) -> FieldTest:
        parse_path(self.path)
        if self.op == "exists":
            if self.value is not None:
                raise ValueError("op 'exists' takes no value")
        elif self.value is None:
            raise ValueError(f"op {self.op!r} needs a value")
        elif self.op in _ORDERING and (isinstance(self.value, bool) or not isinstance(self.value, float)):
            raise ValueError(f"op {self.op!r} compares numbers: value {self.value!r} is not a number")
        return self

    def steps(self) -> tuple[Step, ...]:
        return parse_path(self.path)

    def holds(self, obj: Any, steps: tuple[Step, ...]) -> bool:
        found = values_at(obj, steps)
        if self.op == "exists":
            return bool(found)
        return any(compare(value, self.op, self.value) for value in found)

    def explain(self, obj: Any, steps: tuple[Step, ...]) -> str:
        """What the path found, next to what was expected: `status.readyReplicas is 1, expected >= 3`."""
        found = values_at(obj, steps)
        shown = ", ".join(text_of(v) for v in found[:SHOWN_VALUES]) + (" …" if len(found) > SHOWN_VALUES else "")
        is_ = f"is {shown}" if found else "is absent"
        expected = "to exist" if self.op == "exists" else f"{self.op} {text_of(self.value)}"
        return f"{self.path} {is_}, expected {expected}"

    def __str__(self) -> str:
        return f"{self.path} exists" if self.op == "exists" else f"{self.path} {self.op} {text_of(self.value)}"


def compare(actual: Any, op: Op, expected: bool | float | str | None) -> bool:
    """One found value against the expected one; values of different kinds are never ordered, only unequal."""
    if isinstance(expected, bool):
        same = _as_bool(actual) is expected
        return same if op == "==" else not same
    if isinstance(expected, float):
        number = _as_number(actual)
        if number is None or math.isnan(number):
            return op == "!="
        return _ORDERS[op](number, expected)
    same = text_of(actual) == expected
    return same if op == "==" else not same


def _as_bool(value: Any) -> bool | None:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"  # condition statuses are the strings "True" and "False"
    return None


def _as_number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return None
    return None


def text_of(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


_ORDERS: dict[str, Callable[[float, float], bool]] = {
    "==": operator.eq, "!=": operator.ne, "<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge,
}
