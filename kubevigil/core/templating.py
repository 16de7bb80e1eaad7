"""Sandboxed Jinja2 templates for layouts and templated sink params; values keep their types."""

from __future__ import annotations

import base64
import functools
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any

from jinja2 import ChainableUndefined, TemplateSyntaxError, Undefined, nodes
from jinja2.sandbox import SandboxedEnvironment
from pydantic import AfterValidator, SecretStr

from kubevigil.core import jsontext
from kubevigil.core.signals import Record


class TemplateError(ValueError):
    """A template that cannot be compiled; the message names the construct and why."""


class RenderError(Exception):
    """A template failed for one item at run time."""


def _as_datetime(value: Any) -> datetime:
    """Datetimes, epoch seconds and RFC 3339 strings (Kubernetes timestamps) all become aware UTC."""
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, bool) or value is None or isinstance(value, Undefined):
        raise ValueError(f"not a time: {value!r}")
    if isinstance(value, int | float):
        return datetime.fromtimestamp(value, UTC)
    if isinstance(value, str):
        parsed = datetime.fromisoformat(value)
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    raise ValueError(f"not a time: {value!r}")


def to_json(value: Any) -> str:
    """Compact JSON, as Go's json.Marshal writes it."""
    return jsontext.to_json(value).decode()


def to_pretty_json(value: Any) -> str:
    """Two-space indented JSON, as sprig's toPrettyJson writes it."""
    return jsontext.to_pretty_json(value).decode()


def strftime(value: Any, fmt: str) -> str:
    return _as_datetime(value).strftime(fmt)


def timestamp_ms(value: Any) -> int:
    return round(_as_datetime(value).timestamp() * 1000)


def iso8601(value: Any) -> str:
    """Millisecond UTC form `2006-01-02T15:04:05.000Z` (event-exporter's GetTimestampISO8601)."""
    dt = _as_datetime(value).astimezone(UTC)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}Z"


def _is_empty(value: Any) -> bool:
    return value is None or isinstance(value, Undefined) or value is False or value == 0 or value in ("", [], {})


def default(value: Any, fallback: Any = "") -> Any:
    """sprig's default: the fallback when the value is missing or empty (not only when undefined)."""
    return fallback if _is_empty(value) else value


def to_string(value: Any) -> str:
    if isinstance(value, Undefined) or value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict | list):
        return to_json(value)
    return str(value)


def quote(value: Any) -> str:
    return to_json(to_string(value))


def squote(value: Any) -> str:
    return "'" + to_string(value) + "'"


def trunc(value: Any, length: int) -> str:
    """sprig's trunc: a negative length keeps the end."""
    text = to_string(value)
    return text[length:] if length < 0 else text[:length]


def contains(value: Any, part: Any) -> bool:
    return to_string(part) in to_string(value)


def has_prefix(value: Any, prefix: Any) -> bool:
    return to_string(value).startswith(to_string(prefix))


def has_suffix(value: Any, suffix: Any) -> bool:
    return to_string(value).endswith(to_string(suffix))


def trim_prefix(value: Any, prefix: Any) -> str:
    return to_string(value).removeprefix(to_string(prefix))


def trim_suffix(value: Any, suffix: Any) -> str:
    return to_string(value).removesuffix(to_string(suffix))


def b64enc(value: Any) -> str:
    return base64.b64encode(to_string(value).encode()).decode()


def b64dec(value: Any) -> str:
    return base64.b64decode(to_string(value)).decode("utf-8", "replace")


def go_values(value: Any) -> list[Any]:
    """What Go's `range` visits: a map's values in key order, a list's items, nothing for nil."""
    if _is_empty(value):
        return []
    if isinstance(value, Mapping):
        return [value[k] for k in sorted(value)]
    return list(value)


def go_items(value: Any) -> list[tuple[Any, Any]]:
    """(key, value) pairs of Go's `range $k, $v :=`: map keys in order, list indexes."""
    if _is_empty(value):
        return []
    if isinstance(value, Mapping):
        return [(k, value[k]) for k in sorted(value)]
    return list(enumerate(value))


def to_int(value: Any, fallback: int = 0) -> int:
    """sprig's int: the fallback (0) for anything that is not a number."""
    try:
        return int(float(value))
    except (TypeError, ValueError, OverflowError):
        return fallback


def to_float(value: Any, fallback: float = 0.0) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return fallback


def now() -> datetime:
    return datetime.now(UTC)


FUNCTIONS: dict[str, Callable[..., Any]] = {
    "strftime": strftime,
    "tojson": to_json,
    "toJson": to_json,
    "toprettyjson": to_pretty_json,
    "toPrettyJson": to_pretty_json,
    "timestamp_ms": timestamp_ms,
    "iso8601": iso8601,
    "upper": lambda v: to_string(v).upper(),
    "lower": lambda v: to_string(v).lower(),
    "title": lambda v: to_string(v).title(),
    "trim": lambda v: to_string(v).strip(),
    "quote": quote,
    "squote": squote,
    "default": default,
    "replace": lambda v, old, new: to_string(v).replace(to_string(old), to_string(new)),
    "trunc": trunc,
    "join": lambda v, sep="": to_string(sep).join(to_string(x) for x in go_values(v)),
    "contains": contains,
    "hasPrefix": has_prefix,
    "hasSuffix": has_suffix,
    "trimPrefix": trim_prefix,
    "trimSuffix": trim_suffix,
    "b64enc": b64enc,
    "b64dec": b64dec,
    "toString": to_string,
    "int": to_int,
    "float": to_float,
    "go_values": go_values,
    "go_items": go_items,
}
"""Each is a filter (`x | f(a)`) and a global (`f(x, a)`): the value always comes first."""


def _environment() -> SandboxedEnvironment:
    # ChainableUndefined: an event without an optional field renders empty (as event-exporter does), not an error.
    env = SandboxedEnvironment(undefined=ChainableUndefined, autoescape=False, keep_trailing_newline=True)
    env.filters.update(FUNCTIONS)
    env.globals.update(FUNCTIONS)
    env.globals["now"] = now
    return env


ENV = _environment()


def _load_error(source: str, exc: Exception) -> TemplateError:
    if isinstance(exc, TemplateSyntaxError):
        line = source.splitlines()[exc.lineno - 1] if 0 < exc.lineno <= len(source.splitlines()) else source
        return TemplateError(f"template {source!r}: {exc.message} (line {exc.lineno}: {line.strip()!r})")
    return TemplateError(f"template {source!r}: {exc}")


@dataclass(frozen=True, slots=True)
class Text:
    """A compiled template that renders to a string."""

    source: str
    _render: Callable[[Mapping[str, Any]], Any]

    def render(self, ctx: Mapping[str, Any]) -> str:
        try:
            return str(self._render(ctx))
        except Exception as exc:  # a template may raise anything; it is always one item's failure
            raise RenderError(f"template {self.source!r}: {type(exc).__name__}: {exc}") from exc


@functools.lru_cache(maxsize=4096)
def compile_text(source: str) -> Text:
    """Compile a string template once; rendering gives a string."""
    if not isinstance(source, str):
        raise TemplateError(f"template must be a string, got {type(source).__name__}")
    if "{" not in source:
        return Text(source, lambda _ctx: source)
    try:
        _check_calls(source, ENV.parse(source))
        template = ENV.from_string(source)
    except TemplateError:
        raise
    except Exception as exc:
        raise _load_error(source, exc) from exc
    return Text(source, template.render)


def _check_calls(source: str, tree: nodes.Node) -> None:
    """Unknown functions are found at load time, not on the first event that reaches them."""
    for call in tree.find_all(nodes.Call):
        if isinstance(call.node, nodes.Name) and call.node.name not in ENV.globals:
            known = ", ".join(sorted(k for k in ENV.globals if k[0].isalpha()))
            raise TemplateError(f"template {source!r}: unknown function {call.node.name!r} (known: {known})")


_SINGLE = re.compile(r"\A\{\{-?(?P<expr>.*?)-?\}\}\Z", re.DOTALL)


def _single_expression(source: str) -> str | None:
    """The expression of a string that is exactly one `{{ expr }}`, else None."""
    match = _SINGLE.match(source)
    if match is None:
        return None
    try:
        tree = ENV.parse(source)
        body = tree.body
    except Exception as exc:
        raise _load_error(source, exc) from exc
    if len(body) != 1 or not isinstance(body[0], nodes.Output) or len(body[0].nodes) != 1:
        return None
    if isinstance(body[0].nodes[0], nodes.TemplateData):
        return None
    _check_calls(source, tree)
    return match.group("expr")


class Value:
    """A compiled nested layout; `render` gives dicts, lists and typed scalars."""

    def __init__(self, source: Any) -> None:
        self.source = source
        self._render = _compile_node(source)

    def render(self, ctx: Mapping[str, Any]) -> Any:
        try:
            return self._render(ctx)
        except RenderError:
            raise
        except Exception as exc:
            raise RenderError(f"layout: {type(exc).__name__}: {exc}") from exc


def _compile_node(source: Any) -> Callable[[Mapping[str, Any]], Any]:
    if isinstance(source, Mapping):
        parts = [(str(k), _compile_node(v)) for k, v in source.items()]
        return lambda ctx: {k: f(ctx) for k, f in parts}
    if isinstance(source, list | tuple):
        items = [_compile_node(v) for v in source]
        return lambda ctx: [f(ctx) for f in items]
    if isinstance(source, str):
        return _compile_string_value(source)
    if source is None or isinstance(source, bool | int | float):
        return lambda _ctx: source
    raise TemplateError(f"layout value of type {type(source).__name__} is not allowed: {source!r}")


@functools.lru_cache(maxsize=4096)
def _compile_string_value(source: str) -> Callable[[Mapping[str, Any]], Any]:
    expr = _single_expression(source) if "{{" in source else None
    if expr is None:
        return compile_text(source).render
    try:
        compiled = ENV.compile_expression(expr, undefined_to_none=True)
    except Exception as exc:
        raise _load_error(source, exc) from exc

    def render(ctx: Mapping[str, Any]) -> Any:
        try:
            return compiled(**ctx)
        except Exception as exc:
            raise RenderError(f"template {source!r}: {type(exc).__name__}: {exc}") from exc

    return render


def compile_value(source: Any) -> Value:
    """Compile a nested layout; a string that is exactly `{{ expr }}` renders to the expression's typed value."""
    return Value(source)


def record_context(record: Record) -> dict[str, Any]:
    """What templates see: the body's keys, `record_id`, `event_time` and the whole body as `body`."""
    ctx = dict(record.body)
    ctx["record_id"] = record.id
    ctx["event_time"] = datetime.fromtimestamp(record.timestamp, UTC)
    ctx["body"] = record.body
    return ctx


def _check_text(source: str) -> str:
    try:
        compile_text(source)
    except TemplateError as exc:
        raise ValueError(str(exc)) from exc
    return source


def _check_value(source: Any) -> Any:
    try:
        compile_value(source)
    except TemplateError as exc:
        raise ValueError(str(exc)) from exc
    return source


TemplateText = Annotated[str, AfterValidator(_check_text)]
"""A config field holding a text template, checked at load time; keeps the source string."""

TemplateValue = Annotated[Any, AfterValidator(_check_value)]
"""A config field holding a nested layout, checked at load time; keeps the source."""

def _check_secret_text(source: SecretStr) -> SecretStr:
    try:
        compile_text(source.get_secret_value())
    except TemplateError:
        raise ValueError("not a valid template (the value is secret, so it is not quoted)") from None
    return source


SecretTemplateText = Annotated[SecretStr, AfterValidator(_check_secret_text)]
"""A text template that is a secret (a header value such as `Bearer {{ … }}`): never shown, checked at load time."""
