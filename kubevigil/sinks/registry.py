"""The sink table: name -> params model and sink class. Adding a sink is one folder and one line here."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel

from kubevigil.sinks.sink import Sink, SinkContext


@dataclass(frozen=True)
class SinkSpec:
    params: type[BaseModel]
    build: Callable[[Any, SinkContext], Sink[Any]]
    summary: str


SINKS: dict[str, SinkSpec] = {}
