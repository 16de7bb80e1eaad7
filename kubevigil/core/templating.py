"""Sandboxed Jinja2 templates for layouts and templated sink params; values keep their types."""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated, Any

from pydantic import AfterValidator, SecretStr

from kubevigil.core.signals import Record

if TYPE_CHECKING:
    from jinja2 import nodes
    from jinja2.sandbox import SandboxedEnvironment


class TemplateError(ValueError):
    """A template that cannot be compiled; the message names the construct and why."""


class RenderError(Exception):
    """A template failed for one item at run time."""


@functools.cache
def _env() -> SandboxedEnvironment:
    """The engine, built by the first template compiled: a process whose config holds none never imports Jinja2."""
    from jinja2 import ChainableUndefined
    from jinja2.sandbox import SandboxedEnvironment

    from kubevigil.core.template_functions import FUNCTIONS, now

    # ChainableUndefined: an event without an optional field renders empty (as event-exporter does), not an error.
    env = SandboxedEnvironment(undefined=ChainableUndefined, autoescape=False, keep_trailing_newline=True)
    env.filters.update(FUNCTIONS)
    env.globals.update(FUNCTIONS)
    env.globals["now"] = now
    return env


def _load_error(source: str, exc: Exception) -> TemplateError:
    from jinja2 import TemplateSyntaxError

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
        _check_calls(source, _env().parse(source))
        template = _env().from_string(source)
    except TemplateError:
        raise
    except Exception as exc:
        raise _load_error(source, exc) from exc
    return Text(source, template.render)


def _check_calls(source: str, tree: nodes.Node) -> None:
    """Unknown functions are found at load time, not on the first event that reaches them."""
    from jinja2 import nodes

    for call in tree.find_all(nodes.Call):
        if isinstance(call.node, nodes.Name) and call.node.name not in _env().globals:
            known = ", ".join(sorted(k for k in _env().globals if k[0].isalpha()))
            raise TemplateError(f"template {source!r}: unknown function {call.node.name!r} (known: {known})")


_SINGLE = re.compile(r"\A\{\{-?(?P<expr>.*?)-?\}\}\Z", re.DOTALL)


def _single_expression(source: str) -> str | None:
    """The expression of a string that is exactly one `{{ expr }}`, else None."""
    from jinja2 import nodes

    match = _SINGLE.match(source)
    if match is None:
        return None
    try:
        tree = _env().parse(source)
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
        compiled = _env().compile_expression(expr, undefined_to_none=True)
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
