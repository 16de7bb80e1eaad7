"""Protobuf request bodies decode generically into the JSON a real API server stores."""

from __future__ import annotations

import pytest

from kubevigil.sim import k8sproto


def envelope(api_version: str, kind: str, message: object) -> bytes:
    schemas = k8sproto.schemas()
    unknown = schemas.message_class("k8s.io.apimachinery.pkg.runtime.Unknown")()
    unknown.typeMeta.apiVersion = api_version
    unknown.typeMeta.kind = kind
    unknown.raw = message.SerializeToString()  # type: ignore[attr-defined]
    unknown.contentType = k8sproto.MEDIA_TYPE
    return k8sproto.MAGIC + unknown.SerializeToString()


def test_deployment_with_special_types() -> None:
    schemas = k8sproto.schemas()
    d = schemas.message_class("k8s.io.api.apps.v1.Deployment")()
    d.metadata.name = "web"
    d.metadata.labels["app"] = "web"
    d.metadata.creationTimestamp.SetInParent()  # metav1.Time{} on the wire: null in JSON
    d.metadata.generateName = ""  # a +optional empty string: left out
    d.spec.replicas = 2
    d.spec.selector.matchLabels["app"] = "web"
    d.spec.strategy.SetInParent()
    d.spec.strategy.rollingUpdate.maxSurge.type = 1
    d.spec.strategy.rollingUpdate.maxSurge.strVal = "25%"
    d.spec.strategy.rollingUpdate.maxUnavailable.type = 0
    d.spec.strategy.rollingUpdate.maxUnavailable.intVal = 1
    d.spec.progressDeadlineSeconds = 600
    c = d.spec.template.spec.containers.add()
    c.name, c.image = "nginx", "nginx:1.27"
    c.resources.limits["memory"].string = "256Mi"
    c.resources.SetInParent()
    p = c.ports.add()
    p.containerPort = 80
    d.spec.template.spec.activeDeadlineSeconds = 1 << 40  # int64 stays a JSON number
    obj = k8sproto.decode(envelope("apps/v1", "Deployment", d))
    assert obj["apiVersion"] == "apps/v1" and obj["kind"] == "Deployment"
    assert obj["metadata"] == {"name": "web", "labels": {"app": "web"}}
    spec = obj["spec"]
    assert spec["replicas"] == 2 and spec["selector"] == {"matchLabels": {"app": "web"}}
    assert spec["strategy"] == {"rollingUpdate": {"maxSurge": "25%", "maxUnavailable": 1}}
    pod = spec["template"]["spec"]
    assert pod["activeDeadlineSeconds"] == 1 << 40
    assert pod["containers"] == [{"name": "nginx", "image": "nginx:1.27", "ports": [{"containerPort": 80}],
                                  "resources": {"limits": {"memory": "256Mi"}}}]


def test_times_bytes_and_raw_extension() -> None:
    schemas = k8sproto.schemas()
    s = schemas.message_class("k8s.io.api.core.v1.Secret")()
    s.metadata.name = "s"
    s.metadata.deletionTimestamp.seconds = 1700000000
    s.data["p"] = b"\x00secret"
    s.type = "Opaque"
    obj = k8sproto.decode(envelope("v1", "Secret", s))
    assert obj["data"] == {"p": "AHNlY3JldA=="} and obj["type"] == "Opaque"
    assert obj["metadata"]["deletionTimestamp"] == "2023-11-14T22:13:20Z"
    ev = schemas.message_class("k8s.io.api.events.v1.Event")()
    ev.metadata.name = "e"
    ev.eventTime.seconds, ev.eventTime.nanos = 1700000000, 123456000
    obj = k8sproto.decode(envelope("events.k8s.io/v1", "Event", ev))
    assert obj["eventTime"] == "2023-11-14T22:13:20.123456Z"
    cr = schemas.message_class("k8s.io.api.apps.v1.ControllerRevision")()
    cr.metadata.name = "r"
    cr.data.raw = b'{"spec":{"x":1}}'
    cr.revision = 3
    assert k8sproto.decode(envelope("apps/v1", "ControllerRevision", cr))["data"] == {"spec": {"x": 1}}


def test_bad_bodies_say_why() -> None:
    with pytest.raises(k8sproto.ProtobufError, match="magic number"):
        k8sproto.decode(b'{"kind": "Pod"}')
    with pytest.raises(k8sproto.ProtobufError, match="no protobuf schema for Widget"):
        k8sproto.decode(envelope("example.com/v1", "Widget", k8sproto.schemas().message_class(
            "k8s.io.api.core.v1.ConfigMap")()))
    with pytest.raises(k8sproto.ProtobufError, match="cannot be decoded"):
        k8sproto.decode(k8sproto.MAGIC + b"\xff\xff\xff")
