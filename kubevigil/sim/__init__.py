"""An in-process Kubernetes API emulator (`Cluster`, `Store`) for tests, the demo and `kubevigil sim serve`."""

from kubevigil.sim.cluster import Cluster
from kubevigil.sim.errors import ApiStatusError
from kubevigil.sim.store import Store

__all__ = ["ApiStatusError", "Cluster", "Store"]
