"""The page's Jinja2 templates (autoescaped: every string from the cluster is escaped) and their filters."""

from __future__ import annotations

import math
import time
from typing import Any

import jinja2
from markupsafe import Markup, escape

from kubevigil.web import charts

NO_VALUE = "\u2013"  # an en dash: no value yet

_ENV = jinja2.Environment(
    loader=jinja2.PackageLoader("kubevigil.web", "templates"),
    autoescape=True,
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)


def utc(ts: float | None) -> str:
    """`2026-11-29 23:57:53 UTC`, or "" for no time."""
    return "" if ts is None else time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(ts))


def span(seconds: float | None) -> str:
    """A duration the way a person says it: 12 ms, 1.4 s, 3m 20s, 2h 5m."""
    if seconds is None or math.isnan(seconds):
        return NO_VALUE
    s = abs(seconds)
    if s < 1:
        return f"{s * 1000:.0f} ms"
    if s < 60:
        return f"{s:.1f} s"
    if s < 3600:
        return f"{int(s // 60)}m {int(s % 60)}s"
    if s < 86400:
        return f"{int(s // 3600)}h {int(s % 3600 // 60)}m"
    return f"{int(s // 86400)}d {int(s % 86400 // 3600)}h"


def ago(ts: float | None, now: float) -> str:
    """`3m 20s ago` or `in 12.0 s`, relative to `now`."""
    if ts is None:
        return NO_VALUE
    return f"in {span(ts - now)}" if ts > now else f"{span(now - ts)} ago"


def number(value: float | None) -> str:
    if value is None:
        return NO_VALUE
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.2f}"


_ENV.filters.update(utc=utc, span=span, ago=ago, number=number)
def heatmap_cells(hm: charts.Heatmap) -> Markup:
    """The heatmap's cells as SVG: written here rather than in a template loop, which takes 25x as long for the
    10,000 cells of a 100-node cluster. Labels are escaped like everything else."""
    size = hm.cell - 2
    parts = []
    for c in hm.cells:
        parts.append(f'<rect class="{c.css}" x="{c.x}" y="{c.y}" width="{size}" height="{size}">'
                     f"<title>{escape(c.label)}</title></rect>")
        if c.mark:
            a, b = c.x + 6, c.x + hm.cell - 8
            parts.append(f'<path class="cross" d="M{a} {c.y + 6}L{b} {c.y + hm.cell - 8}M{b} {c.y + 6}'
                         f'L{a} {c.y + hm.cell - 8}"/>')
    # Markup: every piece above is a number, a class of ours, or escaped
    return Markup("".join(parts))


ROWS = 100  # a table shows the first 100 rows (the worst first); the JSON has them all
_ENV.globals.update(charts=charts, ROWS=ROWS, heatmap_cells=heatmap_cells)


def render(template: str, **context: Any) -> str:
    return _ENV.get_template(template).render(**context)


def has_template(template: str) -> bool:
    try:
        _ENV.get_template(template)
    except jinja2.TemplateNotFound:
        return False
    return True
