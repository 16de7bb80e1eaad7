"""kubevigil's own format: nothing to translate."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def detect(doc: dict[str, Any]) -> bool:
    return True


def translate(doc: dict[str, Any], source: Path) -> tuple[dict[str, Any], list[str]]:
    return doc, []
