"""Config files of the tools kubevigil replaces, copied unmodified (below their source line) from shared/anchors."""

from pathlib import Path

ANCHORS = Path(__file__).parent
