"""Microsoft Teams sink: a MessageCard per record."""

from kubevigil.sinks.teams.params import Params
from kubevigil.sinks.teams.sink import TeamsSink

__all__ = ["Params", "TeamsSink"]
