"""event-exporter runs Go's `os.ExpandEnv` over the whole file before parsing it; so does this importer."""

from __future__ import annotations

from collections.abc import Mapping

_SPECIAL = set("*#$@!?-0123456789")


def expand_text(text: str, environ: Mapping[str, str]) -> tuple[str, list[str]]:
    """`text` with `$VAR` and `${VAR}` replaced as Go's os.ExpandEnv does; warnings name each unset variable."""
    out: list[str] = []
    unset: dict[str, int] = {}
    start = 0
    j = 0
    while j < len(text) - 1:
        if text[j] != "$":
            j += 1
            continue
        out.append(text[start:j])
        name, width = _shell_name(text, j + 1)
        if name:
            if name in environ:
                out.append(environ[name])
            else:
                unset.setdefault(name, text.count("\n", 0, j) + 1)
        elif width == 0:
            out.append("$")  # `$` not followed by a name stays
        j += width + 1
        start = j
    out.append(text[start:])
    warnings = [f"line {line}: environment variable {name} is not set; like event-exporter (Go's os.ExpandEnv), "
                "kubevigil reads it as an empty string" for name, line in unset.items()]
    return "".join(out), warnings


def _shell_name(text: str, i: int) -> tuple[str, int]:
    """Go's getShellName: the variable name after a `$` at i-1, and how many characters it takes ('' = none)."""
    if text[i] == "{":
        if i + 2 < len(text) and text[i + 1] in _SPECIAL and text[i + 2] == "}":
            return text[i + 1], 3
        end = text.find("}", i + 1)
        if end == -1:
            return "", 1  # bad syntax: Go eats the "${"
        if end == i + 1:
            return "", 2  # "${}": eaten
        return text[i + 1 : end], end - i + 1
    if text[i] in _SPECIAL:
        return text[i], 1
    k = i
    while k < len(text) and (text[k] == "_" or (text[k].isascii() and text[k].isalnum())):
        k += 1
    return text[i:k], k - i
