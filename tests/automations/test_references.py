from __future__ import annotations

import pytest

from automations.engine.references import BadReference, referenced_paths, render, resolve

DATA = {
    "trigger": {
        "body": {"text": "hi", "n": 3, "ok": True, "items": [{"name": "a"}, {"name": "b"}]}
    },
    "steps": {
        "fc": {"function_name": "translate", "arguments": {"text": "Hallo"}, "items": {"x": 1}}
    },
}


@pytest.mark.parametrize(
    "source, expected",
    [
        ("{{ trigger.body.n }}", 3),
        ("{{ trigger.body.ok }}", True),
        ("{{ steps.fc.arguments }}", {"text": "Hallo"}),
        ("  {{ trigger.body.items }} ", [{"name": "a"}, {"name": "b"}]),
        ("{{ trigger.body.items.1.name }}", "b"),
        ("{{ trigger['body']['text'] }}", "hi"),
        ("{{ steps.fc.items }}", {"x": 1}),  # a key named like a dict method
    ],
)
def test_a_single_reference_keeps_its_type(source, expected):
    assert render(source, DATA) == expected


@pytest.mark.parametrize(
    "source, expected",
    [
        ("Say {{ trigger.body.text }}!", "Say hi!"),
        ("n={{ trigger.body.n }} ok={{ trigger.body.ok }}", "n=3 ok=true"),
        ("args: {{ steps.fc.arguments }}", 'args: {"text": "Hallo"}'),
        ("{{ trigger.body.text | upper }} {{ trigger.body.n + 1 }}", "HI 4"),
        ("no references at all", "no references at all"),
    ],
)
def test_mixed_text_renders_to_a_string(source, expected):
    assert render(source, DATA) == expected


def test_it_resolves_inside_objects_and_lists():
    value = {"a": ["{{ trigger.body.n }}", "x {{ trigger.body.text }}"], "b": 1}
    assert resolve(value, DATA) == {"a": [3, "x hi"], "b": 1}


@pytest.mark.parametrize(
    "source, named",
    [
        (
            "{{ trigger.body.missing }}",
            "trigger.body.missing does not exist (trigger.body has no 'missing')",
        ),
        ("x {{ trigger.body.items.7.name }}", "trigger.body.items.7.name does not exist"),
        ("{{ steps.later.output }}", "refers to step 'later', which does not run before this one"),
    ],
)
def test_a_missing_path_is_named(source, named):
    with pytest.raises(BadReference) as caught:
        render(source, DATA)
    assert named in caught.value.message


@pytest.mark.parametrize(
    "source",
    [
        "{{ ''.__class__ }}",
        "{{ ''.__class__.__mro__[1].__subclasses__() }}",
        "{{ trigger.__class__ }}",
        "{{ trigger.body.text.upper() }}",
        "{{ range(100) }}",
        "{{ lipsum() }}",
        "{{ cycler }}",
        "{% for x in trigger.body.items %}{{ x.__init__.__globals__ }}{% endfor %}",
        "{{ self }}",
    ],
)
def test_sandbox_escapes_are_refused(source):
    with pytest.raises(BadReference):
        render(source, DATA)


def test_malformed_syntax_is_reported():
    with pytest.raises(BadReference, match="malformed"):
        render("{{ trigger.body", DATA)


def test_it_lists_the_paths_a_value_refers_to():
    value = {
        "a": "{{ steps.fc.function_name }} and {{ trigger.body.text }}",
        "b": ["{{ steps.x }}"],
    }
    assert referenced_paths(value) == ["steps.fc.function_name", "trigger.body.text", "steps.x"]
