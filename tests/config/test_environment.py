"""${VAR} expansion: after parsing, on string values only, with defaults and `$$`."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from kubevigil.catalog import load
from kubevigil.config import ConfigError

pytestmark = pytest.mark.usefixtures("tables")
Write = Callable[..., Path]


def test_variables_and_defaults_are_expanded(write: Write) -> None:
    path = write("cluster: {name: '${CLUSTER}'}\nsinks:\n  m: {gauge: {namespace: '${NS:-EKS/Health}'}}\nshutdown_grace: ${GRACE}\n")
    settings = load(path, environ={"CLUSTER": "prod-eks", "GRACE": "3"}).settings
    assert settings.cluster.name == "prod-eks"
    assert settings.sinks["m"].params.namespace == "EKS/Health"  # type: ignore[attr-defined]
    assert settings.shutdown_grace == 3


def test_a_set_variable_wins_over_its_default(write: Write) -> None:
    path = write("cluster: {name: 'x-${NAME:-dev}-y'}\n")
    assert load(path, environ={"NAME": "prod"}).settings.cluster.name == "x-prod-y"


def test_unset_variable_without_default_names_path_and_line(write: Write) -> None:
    path = write("probe:\n  targets:\n    - name: a\n    - name: 'pre-${NOPE}'\n")
    with pytest.raises(ConfigError) as caught:
        load(path, environ={})
    assert str(caught.value) == (
        f"{path}:4: probe.targets.1.name: environment variable 'NOPE' is not set "
        "(write ${NOPE:-default} to give a default, or $${NOPE} for a literal)"
    )
    (issue,) = caught.value.issues
    assert (issue.file, issue.line, issue.path) == (path, 4, "probe.targets.1.name")


def test_dollar_in_a_regex_or_template_stays(write: Write) -> None:
    path = write(
        "probe:\n  targets:\n"
        "    - {name: a, pattern: '^kube-.*$'}\n"
        "    - {name: b, pattern: '(a|b)$|{{ $x }}'}\n"
        "    - {name: 'cost $$${CUR:-5}', pattern: '$$HOME'}\n"
    )
    targets = load(path, environ={}).settings.probe.targets  # type: ignore[attr-defined]
    assert [t.pattern for t in targets] == ["^kube-.*$", "(a|b)$|{{ $x }}", "$HOME"]
    assert targets[2].name == "cost $5"


def test_keys_are_not_expanded(write: Write) -> None:
    # Expanded, the key would be the valid sink name `y`; kept as written, it is no usable sink name (a file name).
    path = write("sinks:\n  '${X}': {gauge: {namespace: n}}\n")
    with pytest.raises(ConfigError, match=r"sinks.\$\{X\}: sink name '\$\{X\}' is not usable"):
        load(path, environ={"X": "y"})
