"""The `prometheus` sink: the latest value of each metric series, exposed on the process's /metrics."""

from kubevigil.sinks.prometheus.params import Params

__all__ = ["Params"]
