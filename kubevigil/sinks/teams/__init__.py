"""Microsoft Teams sink: a MessageCard per record."""

from kubevigil.sinks.teams.params import Params

__all__ = ["Params"]
