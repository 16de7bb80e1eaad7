"""kubevigil.core.templating: typed values, load-time errors, run-time errors per item, sprig-style functions."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from kubevigil.core.model import Model
from kubevigil.core.signals import Record
from kubevigil.core.templating import (
    RenderError,
    TemplateError,
    TemplateText,
    TemplateValue,
    compile_text,
    compile_value,
    record_context,
)

RECORD = Record(
    id="abc-3",
    timestamp=1_700_000_000.5,
    body={
        "count": 3,
        "message": "Back-off restarting <container>",
        "type": "Warning",
        "involvedObject": {"kind": "Pod", "name": "web-1", "labels": {"app": "web"}},
        "metadata": {"namespace": "shop", "uid": "abc"},
    },
)
CTX = record_context(RECORD)


def test_record_context_has_body_keys_id_and_aware_time() -> None:
    assert CTX["count"] == 3
    assert CTX["record_id"] == "abc-3"
    assert CTX["event_time"].tzinfo is not None
    assert CTX["event_time"].timestamp() == RECORD.timestamp
    assert CTX["body"] is RECORD.body


def test_single_expression_keeps_type() -> None:
    layout = {
        "count": "{{ count }}",
        "labels": "{{ involvedObject.labels }}",
        "next": "{{ count + 1 }}",
        "missing": "{{ nothing.here }}",
        "text": "n={{ count }}",
        "const": 7,
        "list": ["{{ type }}", True, None],
    }
    assert compile_value(layout).render(CTX) == {
        "count": 3,
        "labels": {"app": "web"},
        "next": 4,
        "missing": None,
        "text": "n=3",
        "const": 7,
        "list": ["Warning", True, None],
    }


def test_two_expressions_render_to_text() -> None:
    assert compile_value("{{ count }}{{ count }}").render(CTX) == "33"


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("{{ body | tojson }}", None),  # checked below
        ("{{ event_time | timestamp_ms }}", "1700000000500"),
        ("{{ event_time | iso8601 }}", "2023-11-14T22:13:20.500Z"),
        ("{{ event_time | strftime('%Y.%m.%d') }}", "2023.11.14"),
        ("{{ '2024-02-03T04:05:06Z' | strftime('%Y-%m-%d') }}", "2024-02-03"),
        ("{{ type | upper }}/{{ type | lower }}/{{ 'a b' | title }}", "WARNING/warning/A B"),
        ("{{ '  x ' | trim }}", "x"),
        ("{{ type | quote }} {{ type | squote }}", "\"Warning\" 'Warning'"),
        ("{{ nothing | default('none') }}|{{ '' | default('empty') }}|{{ type | default('x') }}", "none|empty|Warning"),
        ("{{ message | replace('<', '[') | trunc(12) }}", "Back-off res"),
        ("{{ message | trunc(-5) }}", "iner>"),
        ("{{ ['a', 'b'] | join('-') }}", "a-b"),
        ("{{ message | contains('restart') }}", "True"),
        ("{{ type | hasPrefix('Warn') }} {{ type | hasSuffix('x') }}", "True False"),
        ("{{ 'hi' | b64enc }}", "aGk="),
        ("{{ count | toString }}{{ '7' | int + 1 }}{{ 'x' | int }}{{ '1.5' | float }}", "3801.5"),
        ("{{ upper(type) }}", "WARNING"),
        ("{{ nothing.at.all }}", ""),
    ],
)
def test_functions(source: str, expected: str | None) -> None:
    out = compile_text(source).render(CTX)
    if expected is None:
        assert out.startswith('{"count":3,"message":"Back-off restarting <container>"')
    else:
        assert out == expected


def test_pretty_json_two_space_indent() -> None:
    assert compile_text("{{ involvedObject.labels | toprettyjson }}").render(CTX) == '{\n  "app": "web"\n}'


@pytest.mark.parametrize(
    ("source", "fragment"),
    [
        ("{{ message | nofilter }}", "No filter named 'nofilter'"),
        ("{% if %}x{% endif %}", "Expected an expression"),
        ("{{ frobnicate(message) }}", "unknown function 'frobnicate'"),
        ("{{ count ", "unexpected end of template"),
    ],
)
def test_load_errors_name_the_construct(source: str, fragment: str) -> None:
    with pytest.raises(TemplateError) as err:
        compile_value({"a": source})
    assert fragment in str(err.value)
    assert source in str(err.value)


@pytest.mark.parametrize("source", ["{{ count / 0 }}", "x{{ count / 0 }}"])
def test_run_time_failure_is_render_error(source: str) -> None:
    with pytest.raises(RenderError) as err:
        compile_value({"a": source}).render(CTX)
    assert source in str(err.value)


def test_sandbox_blocks_unsafe_attributes() -> None:
    with pytest.raises(RenderError, match=r"SecurityError|unsafe"):
        compile_text("{{ ''.__class__.__subclasses__() }}").render(CTX)


class Params(Model):
    message: TemplateText = "{{ message }}"
    layout: TemplateValue = None


def test_pydantic_types_check_at_load_time() -> None:
    p = Params(message="{{ type }}", layout={"a": ["{{ count }}"]})
    assert p.message == "{{ type }}"
    assert compile_value(p.layout).render(CTX) == {"a": [3]}
    with pytest.raises(ValidationError, match="No filter named 'bad'"):
        Params(message="{{ type | bad }}")
    with pytest.raises(ValidationError, match="unknown function"):
        Params(layout={"x": ["{{ nope(1) }}"]})


def test_compiled_once() -> None:
    assert compile_text("{{ type }}!") is compile_text("{{ type }}!")
