"""kubernetes-event-exporter's config file: detection, translation to the native format, and error origins."""

from kubevigil.config.importers.event_exporter.environment import expand_text
from kubevigil.config.importers.event_exporter.importer import detect, origin, translate, translate_config

__all__ = ["detect", "expand_text", "origin", "translate", "translate_config"]
