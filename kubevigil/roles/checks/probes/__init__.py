"""Built-in probes the `checks` role runs in-process, without a pod: http, tcp, dns, tls, kubernetes, prometheus.

`PROBES[name].model_validate(params)` gives a spec; `await spec.run(env, timeout)` checks once and returns a
`ProbeResult`, never raising for a failed check (docs/checks.md, "Built-in probes").
"""

from __future__ import annotations

from kubevigil.roles.checks.probes.dns import DnsProbe
from kubevigil.roles.checks.probes.http import HttpProbe
from kubevigil.roles.checks.probes.kubernetes import KubernetesProbe
from kubevigil.roles.checks.probes.probe import ProbeEnv, ProbeResult, ProbeSpec
from kubevigil.roles.checks.probes.prometheus import PrometheusProbe
from kubevigil.roles.checks.probes.tcp import TcpProbe
from kubevigil.roles.checks.probes.tls import TlsProbe

PROBES: dict[str, type[ProbeSpec]] = {
    "http": HttpProbe,
    "tcp": TcpProbe,
    "dns": DnsProbe,
    "tls": TlsProbe,
    "kubernetes": KubernetesProbe,
    "prometheus": PrometheusProbe,
}

__all__ = [
    "PROBES", "DnsProbe", "HttpProbe", "KubernetesProbe", "ProbeEnv", "ProbeResult", "ProbeSpec", "PrometheusProbe",
    "TcpProbe", "TlsProbe",
]
