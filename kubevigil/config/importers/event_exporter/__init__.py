"""kubernetes-event-exporter's config file: detection, translation to the native format, and error origins.

Detecting the format reads only the key list (`shape.py`): the translation, with its Go-template-to-Jinja2
machinery, is imported when a file of this format is translated, so loading any other format never imports it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from kubevigil.config.importers.event_exporter.environment import expand_text
from kubevigil.config.importers.event_exporter.shape import detect
from kubevigil.config.issues import Loc


def translate(doc: dict[str, Any], source: Path) -> tuple[dict[str, Any], list[str]]:
    """The native config for an event-exporter file, and warnings (importer.py)."""
    from kubevigil.config.importers.event_exporter import importer

    return importer.translate(doc, source)


def translate_config(doc: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """The translation, raising ConfigError with every problem found (importer.py)."""
    from kubevigil.config.importers.event_exporter import importer

    return importer.translate_config(doc)


def origin(loc: Loc, doc: dict[str, Any]) -> Loc | None:
    """The event-exporter key path behind a native key path (importer.py)."""
    from kubevigil.config.importers.event_exporter import importer

    return importer.origin(loc, doc)


__all__ = ["detect", "expand_text", "origin", "translate", "translate_config"]
