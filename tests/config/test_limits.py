"""Limits of what the loader reads: size, depth, aliases, encoding, numbers; each breach is one located line."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from kubevigil.catalog import load
from kubevigil.config import ConfigError, find_config_path
from kubevigil.config.document import MAX_BYTES, parse_document
from kubevigil.config.views import as_yaml

pytestmark = pytest.mark.usefixtures("tables")
Write = Callable[..., Path]


def errors(path: Path) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load(path, environ={})
    return str(caught.value).splitlines()


def test_a_file_over_the_size_limit_is_refused_naming_the_limit(tmp_path: Path) -> None:
    path = tmp_path / "big.yaml"
    path.write_bytes(b"# padding\n" * (MAX_BYTES // 10 + 1))
    assert errors(path) == [f"{path}: the file is larger than 10 MB (10485760 bytes), the limit for a config file"]


def test_a_directory_is_called_a_directory(tmp_path: Path) -> None:
    assert errors(tmp_path) == [f"{tmp_path}: is a directory, not a config file"]
    with pytest.raises(ConfigError, match="config file from --config is a directory, not a file"):
        find_config_path(str(tmp_path))


def test_invalid_utf8_names_its_line(write: Write, tmp_path: Path) -> None:
    path = tmp_path / "latin1.yaml"
    path.write_bytes(b"cluster:\n  name: caf\xe9\n")
    assert errors(path) == [f"{path}:2: not UTF-8 text: byte 0xe9 at column 12 (invalid continuation byte)"]


def test_binary_bytes_are_not_yaml(tmp_path: Path) -> None:
    path = tmp_path / "bin.yaml"
    path.write_bytes(b"cluster:\n  name: a\x00b\n")
    [line] = errors(path)
    assert line.startswith(f"{path}:2: not valid YAML: ") and "#x0000" in line


def test_nesting_is_bounded(write: Write) -> None:
    path = write("probe: " + "[" * 150 + "]" * 150 + "\n")
    assert errors(path) == [f"{path}:1: nested more than 100 levels deep"]


def test_an_alias_bomb_is_refused(write: Write) -> None:
    lines = ["a: &a [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"{chr(98 + i)}: &{chr(98 + i)} [" + ", ".join([f"*{chr(97 + i)}"] * 10) + "]" for i in range(8)]
    path = write("\n".join(lines) + "\n")
    [line] = errors(path)
    assert line == f"{path}:6: aliases expand the document by more than 1000000 values (an alias bomb?)"


def test_an_alias_inside_its_own_anchor_is_refused(write: Write) -> None:
    path = write("probe:\n  targets: &t\n    - *t\n")
    assert errors(path) == [f"{path}:3: alias *t refers to the collection it is in"]


def test_yaml_features_configs_use_still_work(write: Write) -> None:
    path = write("x: &base {seconds: 5, sinks: [m]}\nprobe:\n  <<: *base\n  seconds: 7\n"
                 "sinks: {m: {gauge: {namespace: n}}}\n")
    with pytest.raises(ConfigError) as caught:  # `x` is no key of the native format; the merge itself worked
        load(path, environ={})
    assert str(caught.value) == f"{path}:1: x: unknown key 'x'; valid keys: cluster, leader_election, logging, probe, server, shutdown_grace, sinks, state_dir"
    document = parse_document(path.read_text(), path)
    assert document.data["probe"] == {"seconds": 7, "sinks": ["m"]}


def test_a_second_document_and_unknown_tags_are_errors(write: Write) -> None:
    path = write("probe: {}\n---\nprobe: {}\n")
    assert errors(path) == [f"{path}:2: expected a single document in the file, found a second one"]
    path = write("probe: !!python/object:os.system {}\n", "tag.yaml")
    assert errors(path) == [f"{path}:1: not valid YAML for a config: the tag 'tag:yaml.org,2002:python/object:os.system' is not supported"]
    path = write("probe: {seconds: !!int five}\n", "int.yaml")
    assert errors(path) == [f"{path}:1: not valid YAML: 'five' cannot be read as int"]


@pytest.mark.parametrize(("text", "expected"), [
    ("shutdown_grace: 1e400\n", "1: shutdown_grace: must be at most 3600; got '1e400'"),
    ("shutdown_grace: .inf\n", "1: shutdown_grace: must be at most 3600; got inf"),
    ("probe: {seconds: 99999999999999999999999}\n",
     "1: probe.seconds: must be at most 1000000000000 (kubevigil's bound for any number); got 99999999999999999999999"),
    ("probe: {mode: {at_least: 99999999999999999999999}}\n",
     "1: probe.mode.at_least: must be at most 1000000000000 (kubevigil's bound for any number); got 99999999999999999999999"),
])
def test_every_number_is_bounded_and_the_bound_is_named(write: Write, text: str, expected: str) -> None:
    path = write(text)
    assert errors(path) == [f"{path}:{expected}"]


def test_a_union_typo_is_reported_once_with_every_accepted_form(write: Write) -> None:
    path = write("probe:\n  mode: al\n")
    assert errors(path) == [f"{path}:2: probe.mode: must be 'all', or a mapping with AtLeast; got 'al'; did you mean 'all'?"]


def test_a_sink_name_the_runtime_cannot_use_is_refused_at_load(write: Write) -> None:
    path = write("sinks:\n  ñandú: {gauge: {namespace: n}}\n")
    assert errors(path) == [(f"{path}:2: sinks.ñandú: sink name 'ñandú' is not usable as a file name: use ASCII "
                             "letters, digits, '_', '-', '.' (starting with a letter or digit, at most 128 characters)")]


def test_run_with_no_role_exits_2_saying_so(tmp_path: Path) -> None:
    path = tmp_path / "empty.yaml"
    path.write_text("")
    result = subprocess.run([sys.executable, "-m", "kubevigil.cli", "run", "--config", str(path)],
                            capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 2
    assert result.stderr.startswith(f"{path}: no role is enabled: add a role section (")


@pytest.mark.parametrize("view", [
    {"a": 1, "b": [1, {"c": None, "d": []}], "e": {}, "f": [[1, [2]], {"x": {"y": "z"}}]},
    {"s": ["0.0.0.0:8080", "true", "12", "a # b", "ñ", "two\nlines", "", "-x", "2020-01-01", "~", "x: y", "\x00", "Yes"]},
    {"n": [1.5, 1e300, 1e-5, -2.0, float("inf"), float("-inf"), True, False, None, 10**20]},
])
def test_check_config_yaml_reads_back_as_the_same_values(view: dict) -> None:
    assert yaml.safe_load(as_yaml(view)) == view
