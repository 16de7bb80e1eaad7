"""Reading a scrape: Prometheus text format or OpenMetrics, parsed by prometheus_client's own parsers.

Only the families the rules read are handed to the parser (measured on the ipamd sample: 1.2 ms per scrape for
the whole text, 0.85 ms for the wanted part); the lines left out are still checked to look like exposition lines,
so an HTML error page or other garbage is a parse failure rather than a scrape that silently contributes nothing.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from prometheus_client.openmetrics.parser import text_string_to_metric_families as parse_openmetrics
from prometheus_client.parser import text_string_to_metric_families as parse_text

OPENMETRICS = "application/openmetrics-text"
# Prometheus' own preference order, text first: its parser is the faster of the two (1.2 vs 1.5 ms on ipamd).
ACCEPT = f"text/plain;version=0.0.4;q=1,{OPENMETRICS};version=1.0.0;q=0.5,*/*;q=0.1"

_SAMPLE_LINE = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*(\{.*\})?[ \t]+[-+]?([0-9.]|[Nn]a[Nn]|[Ii]nf)")


class ExpositionError(Exception):
    """The body is not Prometheus text or OpenMetrics; str() is one short line."""


@dataclass(frozen=True, slots=True)
class Sample:
    name: str
    labels: dict[str, str]
    value: float


@dataclass(slots=True)
class Family:
    """One metric family of a scrape: its declared type and samples."""

    type: str  # gauge, counter, summary, histogram, unknown, ...
    samples: list[Sample] = field(default_factory=list)


@dataclass(frozen=True)
class Wanted:
    """The metric names rules read, and the line prefixes that keep exactly their families."""

    names: frozenset[str]
    prefixes: tuple[str, ...]

    @classmethod
    def of(cls, metrics: Iterable[str]) -> Wanted:
        names = frozenset(metrics)
        stems = names | {n.removesuffix("_total") for n in names}
        prefixes = (*sorted(names), "# EOF", *(f"# {kind} {s}" for s in sorted(stems) for kind in ("HELP", "TYPE", "UNIT")))
        return cls(names, prefixes)

    def key(self, family_name: str) -> str | None:
        """The wanted name a parsed family answers to (a counter `x_total` is parsed as family `x`)."""
        if family_name in self.names:
            return family_name
        total = f"{family_name}_total"
        return total if total in self.names else None


def parse(body: bytes, content_type: str, wanted: Wanted) -> dict[str, Family]:
    """The wanted families of one response, keyed by the wanted name; ExpositionError when it is not exposition."""
    try:
        text = body.decode()
    except UnicodeDecodeError as exc:
        raise ExpositionError(f"not UTF-8 at byte {exc.start}") from None
    kept = _keep(text, wanted.prefixes)
    parser = parse_openmetrics if content_type.startswith(OPENMETRICS) else parse_text
    out: dict[str, Family] = {}
    try:
        for fam in parser(kept):
            key = wanted.key(fam.name)
            if key is None:
                continue
            family = out.setdefault(key, Family(fam.type))
            family.samples.extend(Sample(s.name, s.labels, float(s.value)) for s in fam.samples)
    except (ValueError, IndexError, KeyError, TypeError) as exc:  # what the parsers raise on malformed input
        raise ExpositionError(_short(exc)) from None
    return out


def _keep(text: str, prefixes: tuple[str, ...]) -> str:
    lines = text.splitlines()
    kept = []
    for line in lines:
        if line.startswith(prefixes):
            kept.append(line)
        elif line and not line.startswith("#") and not _SAMPLE_LINE.match(line):
            raise ExpositionError(f"not an exposition line: {line[:60]!r}")
    kept.append("")
    return "\n".join(kept)


def _short(exc: Exception) -> str:
    text = " ".join(str(exc).split())[:120]
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__

