"""Translate event-exporter's Go templates (text/template + sprig) into kubevigil's Jinja2 at load time."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

from kubevigil.core.template_functions import FUNCTIONS


class GoTemplateError(ValueError):
    """A Go template construct kubevigil does not translate; the message names it."""


# Fields of the event's embedded ObjectMeta: `.Namespace` in Go is `metadata.namespace` in the event's JSON.
OBJECT_META = {
    "Name", "GenerateName", "Namespace", "SelfLink", "UID", "ResourceVersion", "Generation", "CreationTimestamp",
    "DeletionTimestamp", "DeletionGracePeriodSeconds", "Labels", "Annotations", "OwnerReferences", "Finalizers",
    "ManagedFields",
}  # fmt: skip
MAP_FIELDS = {"Labels", "Annotations"}
DICT_METHODS = {"keys", "values", "items", "get", "pop", "copy", "update", "clear", "setdefault", "popitem"}
ROOT_METHODS = {"GetTimestampMs": "event_time | timestamp_ms", "GetTimestampISO8601": "event_time | iso8601"}

# Go/sprig function name -> kubevigil filter name (value first, Go's other arguments after it).
FILTERS = {name: name for name in FUNCTIONS if not name.startswith("go_")}
FILTERS |= {"int64": "int", "float64": "float", "toJson": "tojson", "toPrettyJson": "toprettyjson"}
COMPARE = {"eq": "==", "ne": "!=", "lt": "<", "le": "<=", "gt": ">", "ge": ">="}

Kind = Literal["atom", "filter", "op"]


@dataclass(frozen=True, slots=True)
class Expr:
    text: str
    kind: Kind = "atom"

    def subject(self) -> str:
        """As the left side of a filter."""
        return f"({self.text})" if self.kind == "op" else self.text

    def operand(self) -> str:
        """As an operand of a comparison or boolean operator."""
        return self.text if self.kind == "atom" else f"({self.text})"


_TOKEN = re.compile(
    r"""
    (?P<ws>\s+)
  | (?P<str>"(?:\\.|[^"\\])*")
  | (?P<raw>`[^`]*`)
  | (?P<char>'(?:\\.|[^'\\])+')
  | (?P<num>-?(?:0x[0-9a-fA-F]+|\d+(?:\.\d+)?(?:[eE][+-]?\d+)?))
  | (?P<declare>:=)
  | (?P<assign>=)
  | (?P<pipe>\|)
  | (?P<lparen>\()
  | (?P<rparen>\))
  | (?P<comma>,)
  | (?P<var>\$[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*|\$(?:\.[A-Za-z_]\w*)*)
  | (?P<field>(?:\.[A-Za-z_]\w*)+|\.)
  | (?P<ident>[A-Za-z_]\w*)
    """,
    re.VERBOSE,
)


@dataclass(frozen=True, slots=True)
class Token:
    kind: str
    text: str


def tokenize(action: str) -> list[Token]:
    tokens: list[Token] = []
    pos = 0
    while pos < len(action):
        match = _TOKEN.match(action, pos)
        if match is None:
            raise GoTemplateError(f"unexpected {action[pos:pos + 10]!r} in {{{{{action}}}}}")
        kind = match.lastgroup or ""
        if kind != "ws":
            tokens.append(Token(kind, match.group()))
        pos = match.end()
    return tokens


def lower_camel(name: str) -> str:
    """Go field name -> JSON key: UID -> uid, APIVersion -> apiVersion, Message -> message."""
    run = len(name) - len(name.lstrip("ABCDEFGHIJKLMNOPQRSTUVWXYZ"))
    if run == len(name):
        return name.lower()
    if run <= 1:
        return name[:1].lower() + name[1:]
    return name[: run - 1].lower() + name[run - 1 :]


def _path(base: str | None, segments: list[str], after_map: bool) -> str:
    """Build `a.b["k"]`: map keys verbatim as subscripts, struct fields as JSON keys."""
    text = base or ""
    for seg in segments:
        if after_map:
            text += f"[{json.dumps(seg)}]"
        else:
            key = lower_camel(seg)
            if not text:
                text = key
            elif key in DICT_METHODS or not key.isidentifier():
                text += f"[{json.dumps(key)}]"
            else:
                text += "." + key
        after_map = after_map or seg in MAP_FIELDS
    return text


@dataclass
class Scope:
    dot: str | None  # Jinja name of Go's `.`; None while `.` is the event itself
    dot_is_map: bool = False


@dataclass
class Translator:
    """One template's translation: a stack of scopes for `.`, and the Jinja names of Go variables."""

    scopes: list[Scope] = field(default_factory=lambda: [Scope(None)])
    counter: int = 0

    def fresh(self) -> str:
        self.counter += 1
        return f"it{self.counter}" if self.counter > 1 else "it"

    # -- operands ---------------------------------------------------------------------------------
    def field(self, chain: str, scope: Scope) -> Expr:
        segments = [s for s in chain.split(".") if s]
        if not segments:
            return Expr(scope.dot or "body")
        if scope.dot is None and segments[0] in ROOT_METHODS:
            if len(segments) > 1:
                raise GoTemplateError(f"field access on the result of .{segments[0]}")
            return Expr(ROOT_METHODS[segments[0]], "filter")
        if scope.dot is None:
            if segments[0] in OBJECT_META:
                return Expr(_path("metadata", segments, False))
            return Expr(_path(None, segments, False))
        return Expr(_path(scope.dot, segments, scope.dot_is_map))

    def variable(self, text: str) -> Expr:
        name, _, rest = text.partition(".")
        if name == "$":
            return self.field("." + rest if rest else ".", self.scopes[0])
        base = "v_" + name[1:]
        return Expr(_path(base, rest.split(".") if rest else [], False))

    def literal(self, tok: Token) -> Expr:
        if tok.kind == "str":
            try:
                return Expr(json.dumps(json.loads(tok.text)))
            except ValueError as exc:
                raise GoTemplateError(f"string literal {tok.text} uses an escape kubevigil does not read") from exc
        if tok.kind == "raw":
            return Expr(json.dumps(tok.text[1:-1]))
        if tok.kind == "num":
            return Expr(tok.text, "op" if tok.text.startswith("-") else "atom")
        raise GoTemplateError(f"character constant {tok.text}")

    # -- pipelines --------------------------------------------------------------------------------
    def pipeline(self, tokens: list[Token]) -> Expr:
        commands = _split_top(tokens, "pipe")
        result: Expr | None = None
        for command in commands:
            if not command:
                raise GoTemplateError("empty command in a pipeline")
            result = self.command(self.operands(command), result)
        assert result is not None
        return result

    def operands(self, tokens: list[Token]) -> list[Expr | Token]:
        """Parse operands; identifiers stay tokens so the caller can tell a function from a value."""
        out: list[Expr | Token] = []
        i = 0
        while i < len(tokens):
            tok = tokens[i]
            if tok.kind == "lparen":
                end = _closing(tokens, i)
                inner = self.pipeline(tokens[i + 1 : end])
                i = end + 1
                if i < len(tokens) and tokens[i].kind == "field" and tokens[i].text != ".":
                    segments = [s for s in tokens[i].text.split(".") if s]
                    inner = Expr(_path(inner.operand() if inner.kind != "atom" else inner.text, segments, False))
                    i += 1
                out.append(inner)
                continue
            if tok.kind == "field":
                out.append(self.field(tok.text, self.scopes[-1]))
            elif tok.kind == "var":
                out.append(self.variable(tok.text))
            elif tok.kind == "ident":
                out.append(tok)
            elif tok.kind in ("str", "raw", "num", "char"):
                out.append(self.literal(tok))
            else:
                raise GoTemplateError(f"unexpected {tok.text!r} in a pipeline")
            i += 1
        return out

    def command(self, operands: list[Expr | Token], piped: Expr | None) -> Expr:
        head = operands[0]
        if isinstance(head, Token):
            if head.text in ("true", "false", "nil"):
                if len(operands) > 1 or piped is not None:
                    raise GoTemplateError(f"{head.text} cannot be called")
                return Expr({"true": "true", "false": "false", "nil": "none"}[head.text])
            args = [self.value(op) for op in operands[1:]] + ([piped] if piped is not None else [])
            return self.call(head.text, args)
        if len(operands) > 1:
            raise GoTemplateError(f"method call with arguments ({head.text} ...)")
        if piped is not None:
            raise GoTemplateError(f"piping into {head.text}, which is not a function")
        return head

    def value(self, op: Expr | Token) -> Expr:
        if isinstance(op, Token):
            if op.text in ("true", "false", "nil"):
                return Expr({"true": "true", "false": "false", "nil": "none"}[op.text])
            return self.call(op.text, [])
        return op

    def call(self, name: str, args: list[Expr]) -> Expr:
        special = _SPECIAL.get(name)
        if special is not None:
            return special(self, args)
        if name in COMPARE:
            _arity(name, args, 2)
            return Expr(f"{args[0].operand()} {COMPARE[name]} {args[1].operand()}", "op")
        if name == "now":
            _arity(name, args, 0)
            return Expr("now()")
        target = FILTERS.get(name)
        if target is None:
            raise GoTemplateError(f"function {name!r} is not translated (known: {', '.join(sorted(_known()))})")
        if not args:
            raise GoTemplateError(f"function {name!r} needs an argument")
        subject, rest = args[-1], args[:-1]
        params = f"({', '.join(a.text for a in rest)})" if rest else ""
        return Expr(f"{subject.subject()} | {target}{params}", "filter")


def _arity(name: str, args: list[Expr], n: int) -> None:
    if len(args) != n:
        raise GoTemplateError(f"{name} takes {n} argument(s) here, got {len(args)}")


def _index(_t: Translator, args: list[Expr]) -> Expr:
    if len(args) < 2:
        raise GoTemplateError("index needs a collection and at least one key")
    text = args[0].subject()
    for key in args[1:]:
        text += f"[{key.text}]"
    return Expr(text)


def _boolean(op: str) -> Callable[[Translator, list[Expr]], Expr]:
    def build(_t: Translator, args: list[Expr]) -> Expr:
        if len(args) < 2:
            raise GoTemplateError(f"{op} needs at least two arguments")
        return Expr(f" {op} ".join(a.operand() for a in args), "op")

    return build


def _not(_t: Translator, args: list[Expr]) -> Expr:
    _arity("not", args, 1)
    return Expr(f"not {args[0].operand()}", "op")


def _len(_t: Translator, args: list[Expr]) -> Expr:
    _arity("len", args, 1)
    return Expr(f"{args[0].subject()} | length", "filter")


def _printf(_t: Translator, args: list[Expr]) -> Expr:
    if not args or not args[0].text.startswith('"'):
        raise GoTemplateError("printf needs a literal format string")
    fmt = json.loads(args[0].text)
    bad = re.findall(r"%[^%sdvf]", fmt.replace("%%", ""))
    if bad:
        raise GoTemplateError(f"printf verb {bad[0]!r} (only %s %d %v %f are translated)")
    fmt = fmt.replace("%v", "%s")
    params = ", ".join(a.text for a in args[1:])
    return Expr(f"{json.dumps(fmt)} | format({params})", "filter")


def _date(_t: Translator, args: list[Expr]) -> Expr:
    _arity("date", args, 2)
    if not args[0].text.startswith('"'):
        raise GoTemplateError("date needs a literal layout")
    return Expr(f"{args[1].subject()} | strftime({json.dumps(go_layout_to_strftime(json.loads(args[0].text)))})", "filter")


def _print(_t: Translator, args: list[Expr]) -> Expr:
    _arity("print", args, 1)
    return Expr(f"{args[0].subject()} | toString", "filter")


_SPECIAL: dict[str, Callable[[Translator, list[Expr]], Expr]] = {
    "index": _index,
    "and": _boolean("and"),
    "or": _boolean("or"),
    "not": _not,
    "len": _len,
    "printf": _printf,
    "date": _date,
    "print": _print,
}


def _known() -> set[str]:
    return set(FILTERS) | set(COMPARE) | set(_SPECIAL) | {"now"}


def _closing(tokens: list[Token], start: int) -> int:
    depth = 0
    for i in range(start, len(tokens)):
        if tokens[i].kind == "lparen":
            depth += 1
        elif tokens[i].kind == "rparen":
            depth -= 1
            if depth == 0:
                return i
    raise GoTemplateError("unclosed parenthesis")


def _split_top(tokens: list[Token], kind: str) -> list[list[Token]]:
    parts: list[list[Token]] = [[]]
    depth = 0
    for tok in tokens:
        depth += {"lparen": 1, "rparen": -1}.get(tok.kind, 0)
        if tok.kind == kind and depth == 0:
            parts.append([])
        else:
            parts[-1].append(tok)
    return parts


# -- template structure ---------------------------------------------------------------------------
_ACTION = re.compile(r"\{\{(-\s)?(.*?)(\s-)?\}\}", re.DOTALL)
UNSUPPORTED_KEYWORDS = {"define", "template", "block", "break", "continue"}


@dataclass
class Block:
    kind: Literal["if", "range", "with"]
    closer: str


def translate(source: str) -> str:
    """Go template text -> Jinja2 text with the same output for an event-exporter event."""
    t = Translator()
    out: list[str] = []
    blocks: list[Block] = []
    pos = 0
    trim_next = False
    for match in _ACTION.finditer(source):
        text = source[pos : match.start()]
        if trim_next:
            text = text.lstrip()
        if match.group(1):
            text = text.rstrip()
        out.append(_text(text))
        trim_next = bool(match.group(3))
        pos = match.end()
        body = match.group(2).strip()
        try:
            out.append(_action(t, blocks, body))
        except GoTemplateError as exc:
            raise GoTemplateError(f"{exc} in {match.group()!r} of template {source!r}") from None
    tail = source[pos:]
    out.append(_text(tail.lstrip() if trim_next else tail))
    if blocks:
        raise GoTemplateError(f"{{{{ {blocks[-1].kind} }}}} without {{{{ end }}}} in template {source!r}")
    if "{{" in tail:
        raise GoTemplateError(f"unclosed action in template {source!r}")
    return "".join(out)


def _text(text: str) -> str:
    if "{%" in text or "{#" in text or "{{" in text:
        return "{% raw %}" + text + "{% endraw %}"
    return text


def _action(t: Translator, blocks: list[Block], body: str) -> str:
    if body.startswith("/*"):
        if not body.endswith("*/"):
            raise GoTemplateError("unterminated comment")
        return ""
    tokens = tokenize(body)
    if not tokens:
        raise GoTemplateError("empty action")
    head = tokens[0]
    if head.kind == "ident" and head.text in UNSUPPORTED_KEYWORDS:
        raise GoTemplateError(f"{{{{ {head.text} }}}} is not translated")
    if head.kind == "ident" and head.text in ("if", "range", "with", "else", "end"):
        return _control(t, blocks, head.text, tokens[1:])
    if head.kind == "var" and len(tokens) > 1 and tokens[1].kind == "declare":
        return f"{{% set v_{head.text[1:]} = {t.pipeline(tokens[2:]).text} %}}"
    if head.kind == "var" and len(tokens) > 1 and tokens[1].kind == "assign":
        raise GoTemplateError(f"assignment to {head.text}")
    return "{{ " + t.pipeline(tokens).text + " }}"


def _control(t: Translator, blocks: list[Block], keyword: str, rest: list[Token]) -> str:
    if keyword == "if":
        blocks.append(Block("if", "{% endif %}"))
        return f"{{% if {t.pipeline(rest).text} %}}"
    if keyword == "with":
        return _open_with(t, blocks, rest)
    if keyword == "range":
        return _open_range(t, blocks, rest)
    if keyword == "else":
        return _else(t, blocks, rest)
    if rest:
        raise GoTemplateError("end takes no arguments")
    if not blocks:
        raise GoTemplateError("end without if, range or with")
    block = blocks.pop()
    if block.kind in ("range", "with"):
        t.scopes.pop()
    return block.closer


def _open_with(t: Translator, blocks: list[Block], rest: list[Token]) -> str:
    value = t.pipeline(rest)
    name = t.fresh()
    t.scopes.append(Scope(name))
    blocks.append(Block("with", "{% endif %}{% endwith %}"))
    return f"{{% with {name} = {value.text} %}}{{% if {name} %}}"


def _open_range(t: Translator, blocks: list[Block], rest: list[Token]) -> str:
    names: list[str] = []
    if any(tok.kind == "declare" for tok in rest):
        head = rest[: [tok.kind for tok in rest].index("declare")]
        names = ["v_" + tok.text[1:] for tok in head if tok.kind == "var"]
        if not 1 <= len(names) <= 2 or len(head) != 2 * len(names) - 1:
            raise GoTemplateError("range declaration must be `$v :=` or `$k, $v :=`")
        rest = rest[len(head) + 1 :]
    value = t.pipeline(rest)
    blocks.append(Block("range", "{% endfor %}"))
    if len(names) == 2:
        t.scopes.append(Scope(names[1]))
        return f"{{% for {names[0]}, {names[1]} in {value.subject()} | go_items %}}"
    name = names[0] if names else t.fresh()
    t.scopes.append(Scope(name))
    return f"{{% for {name} in {value.subject()} | go_values %}}"


def _else(t: Translator, blocks: list[Block], rest: list[Token]) -> str:
    if not blocks:
        raise GoTemplateError("else without if, range or with")
    if not rest:
        return "{% else %}"
    if rest[0].kind == "ident" and rest[0].text == "if" and blocks[-1].kind == "if":
        return f"{{% elif {t.pipeline(rest[1:]).text} %}}"
    raise GoTemplateError(f"else {rest[0].text}")


# -- Go time layouts --------------------------------------------------------------------------------
_LAYOUT = [
    ("January", "%B"), ("Monday", "%A"), ("2006", "%Y"), ("-0700", "%z"), ("MST", "%Z"), ("Jan", "%b"),
    ("Mon", "%a"), ("002", "%j"), ("15", "%H"), ("01", "%m"), ("02", "%d"), ("03", "%I"), ("04", "%M"),
    ("05", "%S"), ("06", "%y"), ("PM", "%p"), ("1", "%-m"), ("2", "%-d"), ("3", "%-I"), ("4", "%-M"), ("5", "%-S"),
]  # fmt: skip
_UNSUPPORTED_LAYOUT = ("Z07:00", "-07:00", "Z0700", "_2", ".000", ".999", ",000", "pm", "-07")


def go_layout_to_strftime(layout: str) -> str:
    """A Go reference-time layout ("2006-01-02") as a strftime format ("%Y-%m-%d")."""
    out: list[str] = []
    i = 0
    while i < len(layout):
        for token in _UNSUPPORTED_LAYOUT:
            if layout.startswith(token, i):
                raise GoTemplateError(f"Go time layout element {token!r} in {layout!r} is not translated")
        for token, fmt in _LAYOUT:
            if layout.startswith(token, i):
                out.append(fmt)
                i += len(token)
                break
        else:
            out.append("%%" if layout[i] == "%" else layout[i])
            i += 1
    return "".join(out)


_BRACED = re.compile(r"\{([^{}]*)\}")


def translate_time_pattern(pattern: str) -> str:
    """event-exporter's `kube-events-{2006-01-02}` -> a Jinja template on the event's time."""
    def layout(match: re.Match[str]) -> str:
        return "{{ event_time | strftime(" + json.dumps(go_layout_to_strftime(match.group(1))) + ") }}"

    return _BRACED.sub(layout, pattern)
