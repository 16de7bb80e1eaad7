"""The `prometheus` sink: the latest value of each metric series, exposed on the process's /metrics."""

from kubevigil.sinks.prometheus.params import Params
from kubevigil.sinks.prometheus.sink import PrometheusSink

__all__ = ["PrometheusSink", "Params"]
