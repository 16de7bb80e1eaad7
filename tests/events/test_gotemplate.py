"""Go template -> Jinja translation: the table of constructs event-exporter users write, and the errors."""

from __future__ import annotations

import pytest

from kubevigil.config.importers.gotemplate import (
    GoTemplateError,
    go_layout_to_strftime,
    translate,
    translate_time_pattern,
)
from kubevigil.core.signals import Record
from kubevigil.core.templating import compile_text, compile_value, record_context

EVENT = {
    "metadata": {"name": "web-1.17a", "namespace": "shop", "uid": "u-1"},
    "involvedObject": {"kind": "Pod", "name": "web-1", "namespace": "shop",
                       "labels": {"app": "web", "app.kubernetes.io/name": "shop"},
                       "ownerReferences": [{"kind": "ReplicaSet", "name": "web-abc"}]},
    "reason": "BackOff", "message": "Back-off restarting", "type": "Warning", "count": 3,
    "source": {"component": "kubelet", "host": "node-1"},
    "clusterName": "prod",
}
CTX = record_context(Record("u-1-3", 1_700_000_000.25, EVENT))

TABLE = [
    ("{{ .Message }}", "{{ message }}", "Back-off restarting"),
    ("{{ .InvolvedObject.Name }}", "{{ involvedObject.name }}", "web-1"),
    ("{{ .Namespace }}/{{ .Name }}/{{ .UID }}", "{{ metadata.namespace }}/{{ metadata.name }}/{{ metadata.uid }}",
     "shop/web-1.17a/u-1"),
    ("{{ .Source.Component }}@{{ .Source.Host }}", "{{ source.component }}@{{ source.host }}", "kubelet@node-1"),
    ("{{ .ClusterName }}", "{{ clusterName }}", "prod"),
    ('{{ index .InvolvedObject.Labels "app.kubernetes.io/name" }}',
     '{{ involvedObject.labels["app.kubernetes.io/name"] }}', "shop"),
    ("{{ .InvolvedObject.Labels.app }}", '{{ involvedObject.labels["app"] }}', "web"),
    ("{{ toJson .InvolvedObject.Labels }}", "{{ involvedObject.labels | tojson }}",
     '{"app":"web","app.kubernetes.io/name":"shop"}'),
    ("{{ .GetTimestampMs }}", "{{ event_time | timestamp_ms }}", "1700000000250"),
    ("{{ .GetTimestampISO8601 }}", "{{ event_time | iso8601 }}", "2023-11-14T22:13:20.250Z"),
    ('{{ if eq .Type "Warning" }}W{{ else if .Count }}C{{ else }}N{{ end }}',
     '{% if type == "Warning" %}W{% elif count %}C{% else %}N{% endif %}', "W"),
    ("{{ range $k, $v := .InvolvedObject.Labels }}{{ $k }}={{ $v }};{{ end }}",
     "{% for v_k, v_v in involvedObject.labels | go_items %}{{ v_k }}={{ v_v }};{% endfor %}",
     "app=web;app.kubernetes.io/name=shop;"),
    ("{{ range .InvolvedObject.OwnerReferences }}{{ .Kind }}/{{ .Name }} {{ $.Reason }}{{ end }}",
     "{% for it in involvedObject.ownerReferences | go_values %}{{ it.kind }}/{{ it.name }} {{ reason }}{% endfor %}",
     "ReplicaSet/web-abc BackOff"),
    ("{{ with .Series }}{{ .Count }}{{ else }}none{{ end }}",
     "{% with it = series %}{% if it %}{{ it.count }}{% else %}none{% endif %}{% endwith %}", "none"),
    ("{{ .Message | trunc 7 | upper | quote }}", "{{ message | trunc(7) | upper | quote }}", '"BACK-OF"'),
    ('{{ default "none" .Action }}', '{{ action | default("none") }}', "none"),
    ('{{ .Reason | replace "Off" "On" | lower }}', '{{ reason | replace("Off", "On") | lower }}', "backon"),
    ('{{ if and (hasPrefix "Back" .Message) (ne .Type "Normal") }}y{{ end }}',
     '{% if (message | hasPrefix("Back")) and (type != "Normal") %}y{% endif %}', "y"),
    ('{{ printf "%s x%d" .Reason .Count }}', '{{ "%s x%d" | format(reason, count) }}', "BackOff x3"),
    ("{{- .Reason -}}  !", "{{ reason }}!", "BackOff!"),
    ("{{ $r := .Reason }}{{ $r }}", "{% set v_r = reason %}{{ v_r }}", "BackOff"),
    ("{{ len .InvolvedObject.Labels }}", "{{ involvedObject.labels | length }}", "2"),
    ("{{/* note */}}{% raw", "{% raw %}{% raw{% endraw %}", "{% raw"),
    ("{{ .Count | toString | b64enc }}", "{{ count | toString | b64enc }}", "Mw=="),
]


@pytest.mark.parametrize(("go", "jinja", "rendered"), TABLE)
def test_translation_table(go: str, jinja: str, rendered: str) -> None:
    assert translate(go) == jinja
    assert compile_text(translate(go)).render(CTX) == rendered


def test_whole_event_as_json() -> None:
    assert translate("<pre>{{ toPrettyJson . }}</pre>") == "<pre>{{ body | toprettyjson }}</pre>"
    out = compile_text(translate("{{ toJson . }}")).render(CTX)
    assert out.startswith('{"metadata":{"name":"web-1.17a"')


def test_single_field_keeps_its_type() -> None:
    assert compile_value({"count": translate("{{ .Count }}"), "ms": translate("{{ .GetTimestampMs }}")}).render(CTX) \
        == {"count": 3, "ms": 1_700_000_000_250}


@pytest.mark.parametrize(
    ("go", "fragment"),
    [
        ('{{ template "x" . }}', "{{ template }} is not translated"),
        ('{{ define "x" }}{{ end }}', "{{ define }} is not translated"),
        ("{{ .Message | frobnicate }}", "function 'frobnicate' is not translated"),
        ("{{ if .Count }}x", "{{ if }} without {{ end }}"),
        ("{{ end }}", "end without if, range or with"),
        ("{{ $x = 1 }}", "assignment to $x"),
        ('{{ printf "%x" .Count }}', "printf verb '%x'"),
        ("{{ .DeDot.Message }}", ""),
    ],
)
def test_untranslated_constructs_are_named(go: str, fragment: str) -> None:
    if go == "{{ .DeDot.Message }}":
        assert translate(go) == "{{ deDot.message }}"  # an unknown field is a field, empty at run time
        return
    with pytest.raises(GoTemplateError) as err:
        translate(go)
    assert fragment in str(err.value)


def test_time_layouts() -> None:
    assert go_layout_to_strftime("2006-01-02") == "%Y-%m-%d"
    assert go_layout_to_strftime("2006.01.02 15:04:05") == "%Y.%m.%d %H:%M:%S"
    assert translate_time_pattern("kube-events-{2006-01-02}") == 'kube-events-{{ event_time | strftime("%Y-%m-%d") }}'
    assert compile_text(translate_time_pattern("kube-events-{2006-01-02}")).render(CTX) == "kube-events-2023-11-14"
    with pytest.raises(GoTemplateError, match="'Z07:00'"):
        go_layout_to_strftime("2006-01-02TZ07:00")
