"""Seeded fuzzing of the three importers and the native loader: no input makes loading raise anything but a
ConfigError whose every line is `FILE:LINE: path: reason` (or `FILE: reason` for a whole-file problem).

Mutations of the anchor files: deleted keys, wrong types, huge numbers, deep nesting, binary bytes, invalid UTF-8,
YAML alias bombs, text edits; plus one 50 MB file. Bounded by a case count and a time budget; a failure names the
seed and case so it can be replayed (`FUZZ_SEED=... pytest tests/config/test_fuzz.py`)."""

from __future__ import annotations

import copy
import os
import random
import re
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from kubevigil.catalog import load
from kubevigil.config import ConfigError, normalized
from kubevigil.config.views import as_yaml
from tests.anchors import ANCHORS

SEED = int(os.environ.get("FUZZ_SEED", "20261129"))
MAX_CASES = 1500
BUDGET_SECONDS = 25.0
FORMATS = (None, None, "native", "kubestatus2cloudwatch", "event-exporter")
WHOLE_FILE = ("the file is larger than", "cannot tell which format", "is a directory", "cannot read the config file",
              "unknown config format")
SEEDS = sorted(p for p in ANCHORS.rglob("*.yaml"))
WRONG_VALUES: list[Any] = [None, True, 0, -1, 10**30, -(10**30), 1e308, float("inf"), float("nan"), "", "x" * 5000,
                           "${UNSET}", "$UNSET", "{{ .Bad }}", "*bad*", "(", [], {}, [1, "a"], {"k": {"k": [None]}}]


def expect_clean(path: Path, fmt: str | None) -> None:
    """Load `path`; success must also render, failure must be well-formed located lines."""
    try:
        loaded = load(path, format=fmt, environ={"SET": "1"})
    except ConfigError as exc:
        for line in str(exc).splitlines():
            assert line.startswith(f"{path}"), line
            rest = line[len(str(path)):]
            located = re.match(r":\d+: \S", rest)
            assert located or (rest.startswith(": ") and any(w in rest for w in WHOLE_FILE)), f"unlocated: {line!r}"
        return
    as_yaml(normalized(loaded.settings))


def walk(data: Any) -> list[tuple[Any, Any]]:
    """Every (container, key) in `data`."""
    found: list[tuple[Any, Any]] = []
    stack = [data]
    while stack:
        node = stack.pop()
        items = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
        for key, value in items:
            found.append((node, key))
            stack.append(value)
    return found


def mutate_data(rng: random.Random, data: Any) -> Any:
    data = copy.deepcopy(data)
    if not isinstance(data, dict | list) or not walk(data):
        return rng.choice(WRONG_VALUES)
    for _ in range(rng.randint(1, 4)):
        places = walk(data)
        if not places:
            break
        container, key = rng.choice(places)
        action = rng.random()
        if action < 0.3 and isinstance(container, dict):
            del container[key]
        elif action < 0.75:
            container[key] = copy.deepcopy(rng.choice(WRONG_VALUES))
        elif action < 0.9:
            nested: Any = container[key]
            for _ in range(rng.choice((5, 60, 99))):  # deeper nesting is made as text (the dumper recurses)
                nested = [nested] if rng.random() < 0.5 else {"k": nested}
            container[key] = nested
        elif isinstance(container, dict):
            container[rng.choice(("unknownKey", "clustr", "receivers", "metric", "sinks", "ñ"))] = container[key]
    return data


def mutate_text(rng: random.Random, text: bytes) -> bytes:
    lines = text.split(b"\n")
    choice = rng.random()
    if choice < 0.25 and lines:
        del lines[rng.randrange(len(lines))]
    elif choice < 0.45 and lines:
        i = rng.randrange(len(lines))
        lines.insert(i, lines[i])
    elif choice < 0.65:
        i = rng.randrange(len(text) + 1)
        return text[:i] + bytes(rng.randrange(256) for _ in range(rng.randint(1, 8))) + text[i:]
    elif choice < 0.75:
        i = rng.randrange(len(text) + 1)
        return text[:i] + rng.choice((b"\xff\xfe", b"\xc3", b"\x00", b"\xed\xa0\x80")) + text[i:]
    elif choice < 0.8 and lines:
        i = rng.randrange(len(lines))
        depth = rng.choice((101, 150, 5000))
        lines[i] = lines[i] + b" " + b"[" * depth + b"]" * depth
    elif choice < 0.88 and lines:
        i = rng.randrange(len(lines))
        lines[i] = b"  " * rng.randint(0, 4) + lines[i] + rng.choice((b": {", b" - [", b" &a", b" *a", b" !!int x", b"'"))
    else:
        return alias_bomb(rng.randint(3, 9))
    return b"\n".join(lines)


def alias_bomb(levels: int) -> bytes:
    rows = ["a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    rows += [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 9) + "]" for i in range(1, levels)]
    return ("\n".join(rows) + "\n").encode()


def cases(rng: random.Random) -> Callable[[], bytes]:
    source = rng.choice(SEEDS)
    raw = source.read_bytes()

    def make() -> bytes:
        if rng.random() < 0.5:
            try:
                data = yaml.safe_load(raw)
            except yaml.YAMLError:
                return mutate_text(rng, raw)
            dumped = yaml.safe_dump(mutate_data(rng, data), allow_unicode=True)
            return dumped.encode()
        return mutate_text(rng, raw)

    return make


def test_mutated_anchor_files_load_or_fail_in_located_lines(tmp_path: Path) -> None:
    rng = random.Random(SEED)
    deadline = time.monotonic() + BUDGET_SECONDS
    done = 0
    for case in range(MAX_CASES):
        if time.monotonic() > deadline:
            break
        content = cases(rng)()
        fmt = rng.choice(FORMATS)
        path = tmp_path / f"case-{case}.yaml"
        path.write_bytes(content)
        try:
            expect_clean(path, fmt)
        except AssertionError:
            raise
        except Exception as exc:  # anything but a ConfigError is a bug: keep the input for replay
            raise AssertionError(f"seed {SEED} case {case} (--format {fmt}): {type(exc).__name__}: {exc}\n"
                                 f"input kept at {path}") from exc
        path.unlink()
        done += 1
    assert done >= 50, f"only {done} cases ran within {BUDGET_SECONDS}s"


def test_a_50_mb_file_is_refused_quickly(tmp_path: Path) -> None:
    path = tmp_path / "huge.yaml"
    with path.open("wb") as f:
        chunk = b"- {kind: Deployment, namespace: a, name: b, mode: AllOfThem}\n" * 16384
        while f.tell() < 50 * 1024 * 1024:
            f.write(chunk)
    with pytest.raises(ConfigError, match="larger than 10 MB"):
        load(path, environ={})


CLI_INPUTS: dict[str, bytes] = {
    "invalid-utf8": b"cluster:\n  name: caf\xe9\n",
    "binary": bytes(range(256)) * 4,
    "alias-bomb": alias_bomb(9),
    "deep": b"sinks: " + b"[" * 5000 + b"]" * 5000 + b"\n",
    "huge-numbers": b"shutdown_grace: 1e400\nstatus: {seconds: 1e32, targets: [{kind: Pod, mode: {AtLeast: 99999999999999999999999}}]}\n",
    "event-exporter-broken": b"route:\n  routes: {drop: 5}\nreceivers:\n  - name: x\n    webhook: [1]\n  - 7\n",
}


@pytest.mark.parametrize("name", sorted(CLI_INPUTS))
def test_the_cli_prints_no_traceback(tmp_path: Path, name: str) -> None:
    path = tmp_path / f"{name}.yaml"
    path.write_bytes(CLI_INPUTS[name])
    for command in (["check-config", str(path)], ["run", "--config", str(path)]):
        result = subprocess.run([sys.executable, "-m", "kubevigil.cli", *command], capture_output=True, text=True,
                                timeout=120, check=False)
        assert result.returncode == 1, result.stderr
        assert "Traceback" not in result.stderr and result.stderr.startswith(str(path)), result.stderr
