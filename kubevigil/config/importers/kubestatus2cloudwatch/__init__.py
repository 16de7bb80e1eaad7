"""kubestatus2cloudwatch's config file: detection, translation to the native format, and error origins.

Detecting the format reads only the key list (`shape.py`); the translation is imported when a file of this format is
translated.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from kubevigil.config.importers.kubestatus2cloudwatch.shape import TOP_KEYS, detect
from kubevigil.config.issues import Loc


def translate(doc: dict[str, Any], source: Path) -> tuple[dict[str, Any], list[str]]:
    """The native config for a kubestatus2cloudwatch file, and warnings (importer.py)."""
    from kubevigil.config.importers.kubestatus2cloudwatch import importer

    return importer.translate(doc, source)


def origin(loc: Loc, doc: dict[str, Any]) -> Loc | None:
    """The kubestatus2cloudwatch key path behind a native key path (importer.py)."""
    from kubevigil.config.importers.kubestatus2cloudwatch import importer

    return importer.origin(loc, doc)


__all__ = ["TOP_KEYS", "detect", "origin", "translate"]
