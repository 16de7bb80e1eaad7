"""Every probe example in docs/checks.md is a valid probe spec."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from kubevigil.roles.checks.probes import PROBES

DOC = Path(__file__).resolve().parents[2] / "docs" / "checks.md"


def _examples() -> list[dict[str, object]]:
    section = DOC.read_text().split("## Built-in probes", 1)[1]
    blocks = [block.split("```", 1)[0] for block in section.split("```yaml\n")[1:]]
    return [yaml.safe_load(block) for block in blocks]


def test_every_probe_has_an_example() -> None:
    assert {kind for example in _examples() for kind in example} == set(PROBES)


@pytest.mark.parametrize("example", _examples(), ids=lambda e: next(iter(e)))
def test_example_is_valid(example: dict[str, dict[str, object]]) -> None:
    ((kind, params),) = example.items()
    PROBES[kind].model_validate(params)
