"""The Service registry's part of a create or update: defaults and a loopback clusterIP that no other Service has."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from kubevigil.sim.addresses import SERVICE_NETWORK, AddressPool
from kubevigil.sim.errors import invalid

if TYPE_CHECKING:
    from kubevigil.kube.resources import Resource
    from kubevigil.sim.objects import StoredObjects


class ServiceRegistry:
    """Allocates clusterIPs from 127.3.0.0/16 and fills the defaults the API server adds to a Service."""

    def __init__(self, store: StoredObjects) -> None:
        self._store = store
        self._pool = AddressPool(SERVICE_NETWORK)

    def prepare_create(self, res: Resource, obj: dict[str, Any]) -> None:
        spec = obj.setdefault("spec", {})
        spec.setdefault("type", "ClusterIP")
        spec.setdefault("sessionAffinity", "None")
        for port in spec.get("ports") or []:
            port.setdefault("protocol", "TCP")
            port.setdefault("targetPort", port.get("port"))
        if spec["type"] == "ExternalName":
            return
        ip = spec.get("clusterIP") or ""
        if ip == "None":
            spec["clusterIPs"] = ["None"]
        elif ip:
            in_use = self._in_use()
            if ip not in self._pool:
                raise invalid(res, obj["metadata"].get("name", ""), [
                    ("spec.clusterIPs", (f'Invalid value: ["{ip}"]: failed to allocate IP {ip}: the provided IP '
                     f"({ip}) is not in the valid range. The range of valid IPs is {SERVICE_NETWORK}"))])
            if ip in in_use:
                raise invalid(res, obj["metadata"].get("name", ""), [
                    ("spec.clusterIPs", (f'Invalid value: ["{ip}"]: failed to allocate IP {ip}: provided IP is '
                     "already allocated"))])
            spec["clusterIPs"] = [ip]
        else:
            spec["clusterIP"] = self._pool.allocate(self._in_use())
            spec["clusterIPs"] = [spec["clusterIP"]]
        spec.setdefault("ipFamilies", ["IPv4"])
        spec.setdefault("ipFamilyPolicy", "SingleStack")
        spec.setdefault("internalTrafficPolicy", "Cluster")

    @staticmethod
    def keep_allocation(obj: dict[str, Any], old: dict[str, Any]) -> None:
        """clusterIP is immutable: an update that leaves it out keeps the allocated one."""
        spec, old_spec = obj.setdefault("spec", {}), old.get("spec") or {}
        for key in ("clusterIP", "clusterIPs", "ipFamilies", "ipFamilyPolicy"):
            if key in old_spec and not spec.get(key):
                spec[key] = old_spec[key]

    def _in_use(self) -> set[str]:
        services = self._store.list_raw(self._store.resource("v1", "Service"))
        return {ip for s in services for ip in (s.get("spec") or {}).get("clusterIPs") or []}
