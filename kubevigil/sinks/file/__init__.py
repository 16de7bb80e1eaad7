"""The `file` sink: JSON lines in a local file with size-based rotation and an fsync policy."""

from kubevigil.sinks.file.params import Params

__all__ = ["Params"]
