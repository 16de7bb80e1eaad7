"""Throwaway role and sink specs registered for one test, so config tests do not depend on which roles exist."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import pytest
from pydantic import Field, SecretStr

from kubevigil.core.model import Model, Section, SinkRef
from kubevigil.roles import registry as role_table
from kubevigil.roles.role import RoleSpec
from kubevigil.sinks import registry as sink_table


class ProbeTarget(Model):
    name: str
    pattern: str = ".*"


class AtLeast(Model):
    at_least: int = Field(ge=1)


class ProbeConfig(Section):
    seconds: int = Field(60, gt=0)
    mode: Literal["all"] | AtLeast = "all"
    sinks: list[str] = []
    records_to: str | None = None
    targets: list[ProbeTarget] = []
    token: SecretStr | None = None

    def sink_refs(self) -> Iterable[SinkRef]:
        for index, name in enumerate(self.sinks):
            yield ("sinks", index), name, "metric"
        if self.records_to is not None:
            yield ("records_to",), self.records_to, "record"


class GaugeParams(Model):
    namespace: str
    api_key: SecretStr | None = None
    storage_resolution: int = Field(60, ge=1, le=60)


class LogParams(Model):
    url: str
    password: SecretStr | None = None


def _unbuildable(*_: Any) -> Any:
    raise AssertionError("config tests never build sinks or roles")


@dataclass(frozen=True)
class ProbeSink:
    """A sink table line as the loader sees it (config.SinkType), with nothing behind it to build."""

    params: type[Model]
    kinds: frozenset[str]
    summary: str

    def missing(self) -> list[str]:
        return []


@pytest.fixture
def tables(monkeypatch: pytest.MonkeyPatch) -> None:
    """Role `probe` (sends metrics to `sinks`, records to `records_to`); sinks `gauge` (metrics), `log` (records)."""
    spec = RoleSpec(name="probe", summary="a test role", import_config=lambda: ProbeConfig, build=_unbuildable, leader=False,
                    rbac=_unbuildable)
    monkeypatch.setattr(role_table, "ROLES", {"probe": spec})
    monkeypatch.setattr(role_table, "PLANNED_ROLES", ("probe", "later"))
    monkeypatch.setattr(
        sink_table,
        "SINKS",
        {
            "gauge": ProbeSink(GaugeParams, frozenset({"metric"}), "a test metric sink"),
            "log": ProbeSink(LogParams, frozenset({"record"}), "a test record sink"),
        },
    )


@pytest.fixture
def write(tmp_path: Path) -> Callable[..., Path]:
    def write(text: str, name: str = "config.yaml") -> Path:
        path = tmp_path / name
        path.write_text(text)
        return path

    return write
