"""Aggregation rules on parsed scrapes: sums, extremes, per-pod counter increases, groups, breakdowns."""

from __future__ import annotations

import math

from kubevigil.roles.scrape.aggregation import OTHER, Aggregator, PodScrape, Value
from kubevigil.roles.scrape.config import Breakdown
from kubevigil.roles.scrape.exposition import Wanted, parse
from kubevigil.roles.scrape.presets import CNI_METRICS_HELPER
from kubevigil.roles.scrape.rules import Rule


def scrape(uid: str, text: str, rules: list[Rule], where: str | None = None) -> PodScrape:
    return PodScrape(uid, parse(text.encode(), "text/plain", Wanted.of(r.metric for r in rules)), where)


def by_name(values: list[Value]) -> dict[str, float]:
    return {v.rule.name + "".join(f"/{k}={x}" for k, x in v.groups) + (f"@{v.breakdown}" if v.breakdown else ""):
            v.value for v in values}


COUNTER = [Rule(metric="reqs", name="Reqs", aggregate="delta")]


def counter_text(**series: float) -> str:
    lines = ["# TYPE reqs counter"] + [f'reqs{{fn="{fn}"}} {v}' for fn, v in series.items()]
    return "\n".join(lines) + "\n"


def test_counter_deltas_per_pod_with_first_sight_reset_new_series_and_deletion() -> None:
    agg = Aggregator(COUNTER)
    values, _ = agg.cycle([scrape("a", counter_text(x=10), COUNTER), scrape("b", counter_text(x=1000), COUNTER)])
    assert values == []  # first sight of every pod: no interval measured yet
    values, _ = agg.cycle([scrape("a", counter_text(x=15), COUNTER), scrape("b", counter_text(x=1003), COUNTER)])
    assert by_name(values) == {"Reqs": 8}  # (15-10) + (1003-1000): one global last/current would say 1008-1010
    values, stats = agg.cycle([scrape("a", counter_text(x=2), COUNTER),  # restarted: counts from 0
                               scrape("b", counter_text(x=1004, y=6), COUNTER),  # new series on a known pod
                               scrape("c", counter_text(x=500), COUNTER)])  # new pod: nothing yet
    assert by_name(values) == {"Reqs": 2 + 1 + 6}
    assert stats.resets == 1
    agg.forget({"a", "c"})  # pod b deleted
    assert agg.tracked_pods == 2
    values, _ = agg.cycle([scrape("a", counter_text(x=3), COUNTER), scrape("c", counter_text(x=510), COUNTER)])
    assert by_name(values) == {"Reqs": 1 + 10}
    assert values[0].total == 8 + 9 + 11  # running cluster counter for prometheus_sinks


def test_a_pod_that_missed_a_cycle_adds_its_increase_later() -> None:
    agg = Aggregator(COUNTER)
    agg.cycle([scrape("a", counter_text(x=1), COUNTER), scrape("b", counter_text(x=1), COUNTER)])
    values, _ = agg.cycle([scrape("a", counter_text(x=2), COUNTER)])  # b failed
    assert by_name(values) == {"Reqs": 1}
    values, _ = agg.cycle([scrape("a", counter_text(x=2), COUNTER), scrape("b", counter_text(x=5), COUNTER)])
    assert by_name(values) == {"Reqs": 4}


def test_cni_rules_on_the_two_anchor_scrapes(anchor_scrapes: tuple[str, str]) -> None:
    first, second = anchor_scrapes
    rules = list(CNI_METRICS_HELPER)
    values, _ = Aggregator(rules).cycle([scrape("a", first, rules), scrape("b", second, rules)])
    got = by_name(values)
    assert got["totalIPAddresses"] == 10 + 16
    assert got["assignIPAddresses"] == 2
    assert got["maxIPAddresses"] == 30 and got["eniMaxAvailable"] == 6 and got["eniAllocated"] == 4
    assert got["totalIPv4Prefixes"] == 1 and got["totalAssignedIPv4sPerCidr"] == 1
    assert got["ipamdActionInProgress"] == 0
    assert got["awsAPILatency"] == 1  # max p99; the NaN quantiles are ignored
    assert "addReqCount" not in got  # counters: first sight


def test_summary_mean_histogram_delta_avg_min() -> None:
    rules = [Rule(metric="lat", name="LatMean", aggregate="mean"),
             Rule(metric="h", name="HCount", aggregate="delta"),
             Rule(metric="g", name="GAvg", aggregate="avg"),
             Rule(metric="g", name="GMin", aggregate="min", prometheus_name="g_min")]

    def text(lat_sum: float, lat_count: float, h_count: float, g: float) -> str:
        return (f"# TYPE lat summary\nlat{{quantile=\"0.5\"}} 1\nlat_sum {lat_sum}\nlat_count {lat_count}\n"
                f"# TYPE h histogram\nh_bucket{{le=\"+Inf\"}} {h_count}\nh_sum 1\nh_count {h_count}\n"
                f"# TYPE g gauge\ng{{x=\"1\"}} {g}\ng{{x=\"2\"}} 1\n")

    agg = Aggregator(rules)
    agg.cycle([scrape("a", text(100, 10, 5, 3), rules), scrape("b", text(50, 5, 1, 7), rules)])
    values, _ = agg.cycle([scrape("a", text(130, 13, 6, 3), rules), scrape("b", text(70, 6, 4, 9), rules)])
    got = by_name(values)
    assert got["LatMean"] == (30 + 20) / (3 + 1)
    assert got["HCount"] == 1 + 3
    assert got["GAvg"] == ((3 + 1) + (9 + 1)) / 2  # mean of per-pod sums
    assert got["GMin"] == 1


def test_no_observations_means_no_datum() -> None:
    rules = [Rule(metric="lat", name="LatMean", aggregate="mean"),
             Rule(metric="lat", name="P99", aggregate="max", quantile=0.99, prometheus_name="p99")]
    text = "# TYPE lat summary\nlat{quantile=\"0.99\"} NaN\nlat_sum 0\nlat_count 0\n"
    agg = Aggregator(rules)
    agg.cycle([scrape("a", text, rules)])
    values, _ = agg.cycle([scrape("a", text, rules)])
    assert values == []


def test_group_by_with_a_cardinality_cap() -> None:
    rules = [Rule(metric="err", name="Err", aggregate="sum", group_by=("api",), max_groups=2)]
    text = 'err{api="A"} 1\nerr{api="B"} 2\nerr{api="C"} 4\nerr{api="D"} 8\nerr 16\n'
    agg = Aggregator(rules)
    values, stats = agg.cycle([scrape("a", text, rules), scrape("b", 'err{api="A"} 1\n', rules)])
    assert by_name(values) == {"Err/api=A": 2, "Err/api=B": 2, f"Err/api={OTHER}": 4 + 8 + 16}
    assert stats.folded == {"Err": 3}
    values, _ = agg.cycle([scrape("a", 'err{api="B"} 5\n', rules)])  # admitted groups stay admitted
    assert by_name(values) == {"Err/api=B": 5}


def test_match_filters_series() -> None:
    rules = [Rule(metric="dns", name="ServFail", aggregate="sum", match={"rcode": "SERVFAIL"})]
    text = 'dns{rcode="NOERROR"} 10\ndns{rcode="SERVFAIL"} 3\n'
    values, _ = Aggregator(rules).cycle([scrape("a", text, rules), scrape("b", text, rules)])
    assert by_name(values) == {"ServFail": 6}


def test_breakdown_by_node_is_bounded() -> None:
    rules = [Rule(metric="ips", name="Ips", aggregate="sum"), Rule(metric="other", name="Other", aggregate="sum")]
    agg = Aggregator(rules, Breakdown(by="node", max_values=2, rules=("Ips",)))
    pods = [scrape(str(i), f"ips {i}\nother 1\n", rules, f"node-{i}") for i in range(1, 5)]
    values, _ = agg.cycle(pods)
    assert by_name(values) == {"Ips": 10, "Ips@node-1": 1, "Ips@node-2": 2, f"Ips@{OTHER}": 3 + 4, "Other": 4}


def test_infinite_and_nan_gauges_are_skipped() -> None:
    rules = [Rule(metric="g", name="G", aggregate="sum")]
    values, _ = Aggregator(rules).cycle([scrape("a", "g NaN\n", rules), scrape("b", "g +Inf\n", rules)])
    assert values == []
    values, _ = Aggregator(rules).cycle([scrape("a", "g NaN\n", rules), scrape("b", "g 2\n", rules)])
    assert by_name(values) == {"G": 2} and not math.isnan(values[0].value)
