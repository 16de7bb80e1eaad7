"""Chart geometry: strips, lines, columns and the who-reaches-whom heatmap, as the templates draw them."""

from __future__ import annotations

import pytest

from kubevigil.web import charts

KINDS = {1: ("ok", "healthy"), 0: ("bad", "unhealthy"), None: ("unknown", "withheld")}


def test_window_covers_the_data_up_to_now_within_bounds() -> None:
    assert charts.window(None, 1000.0, 3600, 600) == charts.Window(880.0, 1000.0, 600)  # at least 2 min
    assert charts.window(0.0, 10_000.0, 3600, 600).start == 6400.0  # at most `longest`
    win = charts.window(100.0, 1000.0, 3600, 600)
    assert (win.start, win.x(100.0), win.x(1000.0), win.x(5000.0), win.x(-5.0)) == (100.0, 0.0, 600.0, 600.0, 0.0)
    assert [label for _, label in win.ticks()] == ["00:01", "00:05", "00:09", "00:12", "00:16"]
    assert [label for _, label in charts.Window(0.0, 120.0, 600).ticks()][:2] == ["00:00:00", "00:00:30"]


def test_strip_holds_each_value_until_the_next_and_merges_equal_neighbours() -> None:
    win = charts.Window(0.0, 100.0, 100)
    bars = charts.strip([(-50.0, 1), (10.0, 1), (20.0, 0), (40.0, None), (60.0, 1)], win, KINDS)
    assert [(b.x, b.width, b.css) for b in bars] == [(0.0, 20.0, "ok"), (20.0, 20.0, "bad"), (40.0, 20.0, "unknown"),
                                                     (60.0, 40.0, "ok")]
    assert bars[1].label == "from 00:00:20 UTC: unhealthy"
    (held,) = charts.strip([(-200.0, 1), (-150.0, 0)], win, KINDS)  # the value before the window holds into it
    assert (held.x, held.width, held.css, held.label) == (0.0, 100.0, "bad", "from 23:57:30 UTC: unhealthy")


def test_line_chart_scales_to_a_round_top_and_breaks_at_missing_values() -> None:
    win = charts.Window(0.0, 100.0, 100)
    chart = charts.line_chart({"assigned": [[0.0, 10.0], [50.0, None], [100.0, 30.0]], "total": [[0.0, 36.0]]},
                              win, 80)
    assert chart.top == 50.0
    assigned, total = chart.lines
    assert assigned.segments == ["0.0,64.0", "100.0,32.0"] and assigned.last == 30.0 and assigned.css == "s0"
    assert assigned.end == (100.0, 32.0) and total.end == (0.0, 22.4)
    assert total.segments == ["0.0,22.4"] and total.css == "s1"
    assert [charts.nice_top(v) for v in (0, 0.5, 3, 10, 11, 499, 501)] == [1, 1, 5, 10, 20, 500, 1000]


def test_columns_one_per_minute_on_a_round_scale() -> None:
    cols, top = charts.columns([(0.0, 0), (60.0, 4), (120.0, 10)], 300, 60)
    assert top == 10.0
    assert [(c.x, c.height) for c in cols] == [(0.0, 0.0), (100.0, 24.0), (200.0, 60.0)]
    assert cols[2].label == "00:02 UTC: 10" and cols[1].y == 36.0


@pytest.mark.parametrize(("ok", "seconds", "css"), [(True, 0.01, "lat0"), (True, 0.1, "lat1"), (True, 0.3, "lat2"),
                                                     (True, 0.7, "lat3"), (True, 2.0, "lat4"), (False, 0.01, "err"),
                                                     (True, None, "none")])
def test_latency_colours(ok: bool, seconds: float | None, css: str) -> None:
    assert charts.latency_css(ok, seconds) == css


def test_matrix_marks_errors_and_silent_nurses() -> None:
    names = ["ip-10-0-1-11.eu-west-1.compute.internal", "ip-10-0-2-12.eu-west-1.compute.internal", "vm"]
    a, b, vm = names
    paths = {a: {b: {"ok": False, "event": "timeout", "seconds": None}}, vm: {a: {"ok": True, "seconds": 0.004}}}
    sources = {a: {"reachable": True}, b: {"reachable": False, "error": "TimeoutError"}, vm: {"reachable": True}}
    hm = charts.matrix([a, b, vm], [a, b], paths, sources)
    cells = {c.label.split(":")[0]: c for c in hm.cells}
    a_b, b_a, vm_a, a_a = (cells["ip-10-0-1-11 -> ip-10-0-2-12"], cells["ip-10-0-2-12 -> ip-10-0-1-11"],
                           cells["vm -> ip-10-0-1-11"], cells["ip-10-0-1-11 -> ip-10-0-1-11"])
    assert (a_b.css, a_b.mark, a_b.label) == ("err", True, "ip-10-0-1-11 -> ip-10-0-2-12: timeout")
    assert (b_a.css, b_a.mark) == ("unknown", False) and b_a.label.endswith("no answer from the nurse on ip-10-0-2-12")
    assert vm_a.css == "lat0" and vm_a.label.endswith("ok, 4 ms")
    assert a_a.css == "none"
    assert [short for _, short, _ in hm.rows] == ["ip-10-0-1-11", "ip-10-0-2-12", "vm"]
    assert charts.short_names(["a.x", "a.y"]) == {"a.x": "a.x", "a.y": "a.y"}  # never two alike


def test_heatmap_cells_escape_their_labels() -> None:
    from kubevigil.web.render import heatmap_cells

    hm = charts.matrix(["<b>"], ["<i>"], {"<b>": {"<i>": {"ok": False, "event": "<script>", "seconds": None}}},
                       {"<b>": {"reachable": True}})
    svg = str(heatmap_cells(hm))
    assert "<title>&lt;b&gt; -&gt; &lt;i&gt;: &lt;script&gt;</title>" in svg and "<script>" not in svg
    assert 'class="cross"' in svg
