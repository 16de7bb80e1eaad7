"""cni-metrics-helper's metric set: ipamd's families, the CloudWatch names and aggregation it publishes them with.

From amazon-vpc-cni-k8s `cmd/cni-metrics-helper/metrics/cni_metrics.go`: gauges are summed over every node,
counters become increases, and the AWS API latency summary is the maximum p99. Everything is published with unit
Count, as the original does, so existing alarms and dashboards keep matching.
"""

from __future__ import annotations

from kubevigil.roles.scrape.rules import Rule

_GAUGES = (
    ("awscni_assigned_ip_addresses", "assignIPAddresses"),
    ("awscni_total_ip_addresses", "totalIPAddresses"),
    ("awscni_total_ipv4_prefixes", "totalIPv4Prefixes"),
    ("awscni_assigned_ip_per_cidr", "totalAssignedIPv4sPerCidr"),
    ("awscni_eni_allocated", "eniAllocated"),
    ("awscni_eni_max", "eniMaxAvailable"),
    ("awscni_ip_max", "maxIPAddresses"),
    ("awscni_ipamd_action_inprogress", "ipamdActionInProgress"),
)
_COUNTERS = (
    ("awscni_aws_api_error_count", "awsAPIErr"),
    ("awscni_aws_utils_error_count", "awsUtilErr"),
    ("awscni_ipamd_error_count", "ipamdErr"),
    ("awscni_force_removed_enis", "forceRemoveENI"),
    ("awscni_force_removed_ips", "forceRemoveIPs"),
    ("awscni_reconcile_count", "reconcileCount"),
    ("awscni_add_ip_req_count", "addReqCount"),
    ("awscni_del_ip_req_count", "delReqCount"),
    ("awscni_pod_eni_error_count", "podENIErr"),
    ("awscni_ec2api_req_count", "ec2ApiReqCount"),
    ("awscni_ec2api_error_count", "ec2ApiErrCount"),
)

CNI_METRICS_HELPER: tuple[Rule, ...] = (
    *(Rule(metric=m, name=n, aggregate="sum") for m, n in _GAUGES),
    # On /metrics not under the exporter's name: that is a summary in milliseconds, this is one cluster p99 in seconds
    Rule(metric="awscni_aws_api_latency_ms", name="awsAPILatency", aggregate="max", quantile=0.99,
         prometheus_name="awscni_aws_api_latency_p99", prometheus_unit="Milliseconds"),
    *(Rule(metric=m, name=n, aggregate="delta") for m, n in _COUNTERS),
)
