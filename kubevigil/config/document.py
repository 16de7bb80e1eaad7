"""A YAML file as plain values plus the line of every key and list item."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from kubevigil.config.issues import ConfigError, ConfigIssue, Loc


@dataclass
class Document:
    """The parsed file: `data` as plain Python values, `lines` mapping each key path to its 1-based line."""

    file: Path
    data: Any
    lines: dict[Loc, int]
    duplicates: list[ConfigIssue]

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
    """Read and parse `path`; raise ConfigError for an unreadable file or bad YAML."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError([ConfigIssue(path, None, "", f"cannot read the config file: {exc}")]) from None
    return parse_document(text, path)


def parse_document(text: str, path: Path) -> Document:
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        data = loader.construct_document(node) if node is not None else None
        lines: dict[Loc, int] = {(): node.start_mark.line + 1 if node is not None else 1}
        duplicates: list[ConfigIssue] = []
        if node is not None:
            _walk(loader, node, (), lines, duplicates, path)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        message = " ".join(part for part in (exc.context, exc.problem) if part)
        raise ConfigError([ConfigIssue(path, line, "", f"not valid YAML: {message}")]) from None
    except yaml.YAMLError as exc:
        raise ConfigError([ConfigIssue(path, None, "", f"not valid YAML: {exc}")]) from None
    finally:
        loader.dispose()
    return Document(path, data, lines, duplicates)


def _walk(
    loader: yaml.SafeLoader, node: yaml.Node, loc: Loc, lines: dict[Loc, int], dups: list[ConfigIssue], path: Path
) -> None:
    if isinstance(node, yaml.MappingNode):
        seen: dict[Any, int] = {}
        for key_node, value_node in node.value:
            key = loader.construct_object(key_node, deep=True)
            if not isinstance(key, str | int):
                continue
            line = key_node.start_mark.line + 1
            if key in seen:
                dups.append(ConfigIssue(path, line, ".".join(map(str, (*loc, key))), f"duplicate key (first at line {seen[key]})"))
            seen[key] = line
            lines[(*loc, key)] = line
            _walk(loader, value_node, (*loc, key), lines, dups, path)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            lines[(*loc, index)] = item.start_mark.line + 1
            _walk(loader, item, (*loc, index), lines, dups, path)
