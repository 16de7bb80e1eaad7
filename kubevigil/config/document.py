"""A YAML file as plain values plus the line of every key and list item, within size, depth and alias limits."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from kubevigil.config.issues import ConfigError, ConfigIssue, Loc, dotted

MAX_BYTES = 10 * 1024 * 1024
MAX_DEPTH = 100
MAX_ALIASED_NODES = 1_000_000  # nodes that aliases add on top of the file's own (a "billion laughs" file adds 10^9)

# libyaml when PyYAML was built with it: the pure-Python scanner needs ~2 s per MB
_Loader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@dataclass
class Document:
    """The parsed file: `data` as plain Python values, `lines` mapping each key path to its 1-based line."""

    file: Path
    data: Any
    lines: dict[Loc, int]
    duplicates: list[ConfigIssue]
    text: str = ""
    first_line: int = 1  # where `text` starts in the file (a ConfigMap's embedded config starts further down)

    def line_of(self, loc: Loc) -> int | None:
        """The line of `loc`, or of its nearest ancestor present in the file (a missing key's parent)."""
        return line_in(self.lines, loc)


def line_in(lines: dict[Loc, int], loc: Loc) -> int | None:
    for end in range(len(loc), -1, -1):
        line = lines.get(loc[:end])
        if line is not None:
            return line
    return None


def read_document(path: Path) -> Document:
    """Read and parse `path`; raise ConfigError for a directory, an unreadable or oversized file, or bad YAML."""
    return parse_document(read_text(path), path)


def read_text(path: Path) -> str:
    """The file's text: UTF-8, at most MAX_BYTES."""
    if path.is_dir():
        raise ConfigError([ConfigIssue(path, None, "", "is a directory, not a config file")])
    try:
        with path.open("rb") as stream:
            raw = stream.read(MAX_BYTES + 1)
    except OSError as exc:
        raise ConfigError([ConfigIssue(path, None, "", f"cannot read the config file: {exc.strerror or exc}")]) from None
    if len(raw) > MAX_BYTES:
        raise ConfigError([ConfigIssue(path, None, "", f"the file is larger than {MAX_BYTES // (1024 * 1024)} MB "
                                       f"({MAX_BYTES} bytes), the limit for a config file")])
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        column = exc.start - (raw.rfind(b"\n", 0, exc.start) + 1) + 1
        message = f"not UTF-8 text: byte 0x{raw[exc.start]:02x} at column {column} ({exc.reason})"
        raise ConfigError([ConfigIssue(path, line, "", message)]) from None


def parse_document(text: str, path: Path, first_line: int = 1) -> Document:
    """Parse `text` in one pass over the YAML parser's events: values, the line of every key, duplicate keys."""
    loader = _Loader(text)
    builder = _Builder(loader, path, first_line - 1)
    try:
        event = loader.get_event()
        while event is not None:
            builder.feed(event)
            event = loader.get_event()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + first_line if mark is not None else None
        message = " ".join(part for part in (exc.context, exc.problem) if part)
        raise ConfigError([ConfigIssue(path, line, "", f"not valid YAML: {message}")]) from None
    except yaml.reader.ReaderError as exc:
        line = text.count("\n", 0, exc.position) + first_line
        character = f"#x{exc.character:04x}" if isinstance(exc.character, int) else repr(exc.character)
        raise ConfigError([ConfigIssue(path, line, "", f"not valid YAML: character {character}: {exc.reason}")]) from None
    except yaml.YAMLError as exc:
        raise ConfigError([ConfigIssue(path, None, "", "not valid YAML: " + " ".join(str(exc).split()))]) from None
    finally:
        loader.dispose()
    return Document(path, builder.data, builder.lines, builder.duplicates, text, first_line)


def unwrap_configmap(document: Document) -> tuple[Document, list[str]]:
    """A Kubernetes ConfigMap manifest (what a repository holds) read as the config in its `data."config.yaml"`."""
    data = document.data
    if not (isinstance(data, dict) and data.get("kind") == "ConfigMap" and isinstance(data.get("data"), dict)):
        return document, []
    text = data["data"].get("config.yaml")
    if not isinstance(text, str):
        keys = ", ".join(map(str, data["data"])) or "none"
        raise ConfigError([ConfigIssue(document.file, document.line_of(("data",)), "data", "this is a ConfigMap "
                                       f"manifest without a config.yaml key (keys: {keys}); pass the config file itself")])
    inner = parse_document(text, document.file, (document.line_of(("data", "config.yaml")) or 0) + 1)
    return inner, [f"{document.file} is a ConfigMap manifest: using its data.\"config.yaml\""]


_MAP, _SEQ = "tag:yaml.org,2002:map", "tag:yaml.org,2002:seq"
_MERGE, _STR = "tag:yaml.org,2002:merge", "tag:yaml.org,2002:str"
_NO_VALUE = object()


@dataclass
class _Open:
    """A collection being read: where it is, what it holds so far, and (for a mapping) the key awaiting its value."""

    container: dict[Any, Any] | list[Any]
    loc: Loc
    anchor: str | None
    size: int = 1
    key: Any = _NO_VALUE
    key_line: int = 0
    key_is_merge: bool = False
    merges: list[tuple[Any, int]] | None = None


class _Builder:
    """Builds plain values from parser events with an explicit stack, so depth and aliases are bounded, not recursed.

    Limits: nesting MAX_DEPTH, values added by aliases MAX_ALIASED_NODES; an alias must name a finished anchor."""

    def __init__(self, loader: Any, path: Path, line_offset: int) -> None:
        self.loader = loader
        self.path = path
        self.offset = line_offset
        self.data: Any = None
        self.lines: dict[Loc, int] = {(): 1 + line_offset}
        self.duplicates: list[ConfigIssue] = []
        self._stack: list[_Open] = []
        self._anchors: dict[str, tuple[Any, int]] = {}
        self._aliased = 0
        self._documents = 0

    def feed(self, event: Any) -> None:
        """Take the parser's next event (typed Any: libyaml's events and marks are not PyYAML's classes)."""
        line = event.start_mark.line + 1 + self.offset
        if isinstance(event, yaml.ScalarEvent):
            value = self._scalar(event, line)
            self._add(value, 1, line, event.anchor)
        elif isinstance(event, yaml.AliasEvent):
            self._alias(str(event.anchor), line)
        elif isinstance(event, yaml.MappingStartEvent | yaml.SequenceStartEvent):
            self._open(event, line)
        elif isinstance(event, yaml.CollectionEndEvent):
            self._close()
        elif isinstance(event, yaml.DocumentStartEvent):
            self._documents += 1
            if self._documents > 1:
                self._fail(line, "expected a single document in the file, found a second one")

    def _fail(self, line: int | None, message: str) -> None:
        raise ConfigError([ConfigIssue(self.path, line, "", message)])

    def _scalar(self, event: Any, line: int) -> Any:
        tag = event.tag
        if tag is None or tag == "!":
            tag = self.loader.resolve(yaml.ScalarNode, event.value, event.implicit)
        if tag == _STR:
            return event.value
        if tag == _MERGE:
            return _MERGE if self._expects_key() else event.value
        construct = self.loader.yaml_constructors.get(tag)
        if construct is None:
            self._fail(line, f"not valid YAML for a config: the tag {tag!r} is not supported")
        node = yaml.ScalarNode(tag, event.value, event.start_mark, event.end_mark, event.style)
        try:
            return construct(self.loader, node)
        except yaml.YAMLError:
            raise
        except (ValueError, TypeError, AttributeError, OverflowError, IndexError):
            self._fail(line, f"not valid YAML: {event.value[:40]!r} cannot be read as {tag.rsplit(':', 1)[-1]}")

    def _expects_key(self) -> bool:
        top = self._stack[-1] if self._stack else None
        return top is not None and isinstance(top.container, dict) and top.key is _NO_VALUE

    def _alias(self, anchor: str, line: int) -> None:
        if anchor not in self._anchors:
            inside = any(o.anchor == anchor for o in self._stack)
            self._fail(line, f"alias *{anchor} " + ("refers to the collection it is in" if inside else "has no anchor before it"))
        value, size = self._anchors[anchor]
        self._aliased += size
        if self._aliased > MAX_ALIASED_NODES:
            self._fail(line, f"aliases expand the document by more than {MAX_ALIASED_NODES} values (an alias bomb?)")
        self._add(value, size, line, None)

    def _open(self, event: Any, line: int) -> None:
        if len(self._stack) >= MAX_DEPTH:
            self._fail(line, f"nested more than {MAX_DEPTH} levels deep")
        is_map = isinstance(event, yaml.MappingStartEvent)
        if event.tag not in (None, "!", _MAP if is_map else _SEQ):
            self._fail(line, f"not valid YAML for a config: the tag {event.tag!r} is not supported")
        if self._expects_key():
            self._fail(line, "a mapping key must be a plain value, not a mapping or list")
        container: dict[Any, Any] | list[Any] = {} if is_map else []
        loc = self._attach(container, line)
        self._stack.append(_Open(container, loc, event.anchor))

    def _close(self) -> None:
        done = self._stack.pop()
        if done.merges:
            self._merge(done)
        if done.anchor is not None:
            self._anchors[done.anchor] = (done.container, done.size)
        if self._stack:
            self._stack[-1].size += done.size

    def _merge(self, done: _Open) -> None:
        """`<<: *base` (or a list of them): the mapping gets every key it does not set itself, first source first."""
        assert isinstance(done.container, dict) and done.merges is not None
        for value, line in done.merges:
            sources = value if isinstance(value, list) else [value]
            if not all(isinstance(source, dict) for source in sources):
                self._fail(line, "a merge key (<<) takes a mapping or a list of mappings")
            for source in sources:
                for key, item in source.items():
                    done.container.setdefault(key, item)

    def _attach(self, value: Any, line: int) -> Loc:
        """Put `value` where the parser is (list item, mapping value, or the document); return its key path."""
        if not self._stack:
            self.data = value
            self.lines[()] = line
            return ()
        top = self._stack[-1]
        if isinstance(top.container, list):
            loc = (*top.loc, len(top.container))
            top.container.append(value)
            self.lines[loc] = line
            return loc
        key, top.key = top.key, _NO_VALUE
        if top.key_is_merge:
            top.key_is_merge = False
            top.merges = [*(top.merges or []), (value, line)]  # read at the end: a collection is still empty here
            return (*top.loc, "<<")
        loc = (*top.loc, key)
        if isinstance(key, str | int) and not isinstance(key, bool):
            if key in top.container:
                self.duplicates.append(ConfigIssue(self.path, top.key_line, dotted(loc),
                                                   f"duplicate key (first at line {self.lines.get(loc)})"))
            self.lines[loc] = top.key_line
        top.container[key] = value
        return loc

    def _add(self, value: Any, size: int, line: int, anchor: str | None) -> None:
        if anchor is not None:
            self._anchors[anchor] = (value, size)
        if self._expects_key():
            top = self._stack[-1]
            if value == _MERGE:
                top.key_is_merge = True
                value = "<<"
            try:
                hash(value)
            except TypeError:
                self._fail(line, "a mapping key must be a plain value, not a mapping or list")
            top.key, top.key_line = value, line
            return
        if self._stack:
            self._stack[-1].size += size
        self._attach(value, line)
