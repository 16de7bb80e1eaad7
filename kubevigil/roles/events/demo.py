"""The events role in `kubevigil demo`: everything to the records file, Warnings also to stdout as one line each and
to the demo's sink in outage (its queue grows on the web page)."""

from __future__ import annotations

from typing import Any

from kubevigil.roles.role import DemoSinks, RoleDemo

STDOUT = "stdout"


def section(sinks: DemoSinks) -> dict[str, Any]:
    return {"route": {"routes": [{"match": [{"receiver": sinks.records}]},
                                 {"match": [{"type": "Warning", "receiver": STDOUT}]},
                                 {"match": [{"type": "Warning", "receiver": sinks.outage}]}]}}


DEMO = RoleDemo(section=section, sinks={STDOUT: {"stdout": {"layout": {
    "warning": "{{ reason }}",
    "object": "{{ involvedObject.kind }} {{ involvedObject.namespace }}/{{ involvedObject.name }}",
    "count": "{{ count }}",
    "message": "{{ message }}",
}}}})
