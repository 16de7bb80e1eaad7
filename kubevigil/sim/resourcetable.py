"""Which resources the emulator serves: the built-in table plus every served version of each stored CRD."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from kubevigil.kube.resources import BUILTIN, Resource

Key = tuple[str, str]  # (group, plural)


@dataclass(slots=True)
class _Served:
    """A served custom resource version and the CRD that defines it."""

    res: Resource
    crd: dict[str, Any]
    selectable: frozenset[str] = field(default_factory=frozenset)


class ResourceTable:
    """Lookups by (apiVersion, kind) and (group, version, plural); CRDs come and go with `serve`/`unserve`."""

    def __init__(self) -> None:
        self._by_gvk: dict[tuple[str, str], Resource] = {}
        self._by_gvp: dict[tuple[str, str, str], Resource] = {}
        self._served: dict[tuple[str, str, str], _Served] = {}
        for res in BUILTIN:
            self._by_gvk.setdefault((res.api_version, res.kind), res)
            self._by_gvp[(res.group, res.version, res.plural)] = res

    def resource(self, api_version: str, kind: str) -> Resource:
        """The resource serving `kind` at `api_version` (built-in or from a CRD); KeyError if none."""
        try:
            return self._by_gvk[(api_version, kind)]
        except KeyError:
            raise KeyError(f"no resource serves kind {kind!r} in {api_version!r}") from None

    def resource_by_plural(self, group: str, version: str, plural: str) -> Resource:
        try:
            return self._by_gvp[(group, version, plural)]
        except KeyError:
            raise KeyError(f"no resource {plural!r} in group {group!r} version {version!r}") from None

    def by_key(self, key: Key) -> Resource | None:
        """Any served version of (group, plural), or None."""
        return next((r for r in self._by_gvp.values() if (r.group, r.plural) == key), None)

    def resources(self) -> list[Resource]:
        """Every served resource (built-in and custom), in a stable order."""
        return list(self._by_gvp.values())

    def crd_of(self, res: Resource) -> dict[str, Any] | None:
        """The CRD serving `res`, or None for a built-in."""
        served = self._served.get((res.group, res.version, res.plural))
        return served.crd if served else None

    def selectable_fields(self, res: Resource) -> frozenset[str]:
        """A CRD version's `selectableFields` (built-ins have their own table in fieldselectors)."""
        served = self._served.get((res.group, res.version, res.plural))
        return served.selectable if served else frozenset()

    def serve(self, crd: dict[str, Any]) -> None:
        """Serve every `served` version of a stored CRD (replacing what an earlier version of it served)."""
        self.unserve(crd)
        spec = crd["spec"]
        names = spec["names"]
        for version in spec["versions"]:
            if not version.get("served", True):
                continue
            subs = tuple(s for s in ("status", "scale")
                         if s in (version.get("subresources") or spec.get("subresources") or {}))
            res = Resource(spec["group"], version["name"], names["kind"], names["plural"],
                           spec["scope"] == "Namespaced", short_names=tuple(names.get("shortNames") or ()),
                           subresources=subs, categories=tuple(names.get("categories") or ()))
            selectable = frozenset(f["jsonPath"].lstrip(".") for f in version.get("selectableFields") or [])
            self._by_gvk[(res.api_version, res.kind)] = res
            self._by_gvp[(res.group, res.version, res.plural)] = res
            self._served[(res.group, res.version, res.plural)] = _Served(res, crd, selectable)

    def unserve(self, crd: dict[str, Any]) -> Key | None:
        """Stop serving a CRD's versions; returns its (group, plural) when no version of it is served any more."""
        group, plural = crd["spec"]["group"], crd["spec"]["names"]["plural"]
        for key in [k for k in self._served if (k[0], k[2]) == (group, plural)]:
            res = self._served.pop(key).res
            self._by_gvp.pop(key, None)
            if self._by_gvk.get((res.api_version, res.kind)) is res:
                del self._by_gvk[(res.api_version, res.kind)]
        if any((k[0], k[2]) == (group, plural) for k in self._served):
            return None
        return (group, plural)
