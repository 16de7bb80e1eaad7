"""Parameters of the `elasticsearch` sink."""

from __future__ import annotations

from kubevigil.sinks.bulk_index import SearchParams


class Params(SearchParams):
    pass
