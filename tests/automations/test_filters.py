"""The filters references have beyond Jinja's (docs/REFERENCES.md), through render():
what they do, and what they refuse, bounded like every other part of a template."""

from __future__ import annotations

import json

import pytest

from automations.engine.references import BadReference, render

DATA = {
    "trigger": {
        "body": {
            "json": '{"items": [1, 2, 3], "who": {"name": "Ann"}}',
            "when": "2024-05-01T12:00:00Z",
            "mail_date": "Wed, 01 May 2024 14:00:00 +0200",
            "html": "<p>Hello &amp; <b>welcome</b></p><script>alert(1)</script><ul><li>a</li></ul>",
            "tags": ["News", "news", "Tech", {"x": 1}, {"x": 1}],
            "posts": [{"title": "A", "author": {"name": "Ann"}}, {"title": "B"}],
            "nested": [[1, [2, [3]]], [4]],
            "stamp": 1714564800,
        }
    },
    "steps": {},
}


@pytest.mark.parametrize(
    "source, expected",
    [
        ("{{ (trigger.body.json | from_json)['who']['name'] }}", "Ann"),
        ("{{ (trigger.body.json | from_json)['items'] | sum }}", "6"),
        ("{{ trigger.body.posts | pluck('title') | to_json }}", '["A", "B"]'),
        ("{{ {'a': 'é'} | to_json }}", '{"a": "é"}'),
        (
            "{{ trigger.body.when | date_format('%d %B %Y, %H:%M', 'Europe/Berlin') }}",
            "01 May 2024, 14:00",
        ),
        ("{{ trigger.body.stamp | date_format('%Y-%m-%d %H:%M') }}", "2024-05-01 12:00"),
        ("{{ trigger.body.mail_date | parse_date }}", "2024-05-01T14:00:00+02:00"),
        (
            "{{ '01/05/2024 09:30' | parse_date('%d/%m/%Y %H:%M', 'America/New_York') }}",
            "2024-05-01T09:30:00-04:00",
        ),
        ("{{ trigger.body.when | to_timezone('Asia/Tokyo') }}", "2024-05-01T21:00:00+09:00"),
        ("{{ 'Hello, World! Ça va?' | slugify }}", "hello-world-ca-va"),
        ("{{ 'one two three four' | truncate_words(2) }}", "one two…"),
        ("{{ 'one two' | truncate_words(5) }}", "one two"),
        ("{{ 'one two three' | truncate_words(1, '...') }}", "one..."),
        ("{{ trigger.body.html | strip_html }}", "Hello & welcome\n\na"),
        ("{{ 15 | clamp(0, 10) }} {{ -3 | clamp(0, 10) }} {{ 4 | clamp(0, 10) }}", "10 0 4"),
        (
            "{{ [3, 1, 2] | min }} {{ [3, 1, 2] | max }} {{ [1.5, 2] | sum }} {{ -2 | abs }}",
            "1 3 3.5 2",
        ),
        ("{{ 2.567 | round(2) }}", "2.57"),
        ("{{ trigger.body.tags | unique | to_json }}", '["News", "Tech", {"x": 1}]'),
        ("{{ trigger.body.tags | unique(true) | length }}", "4"),
        ("{{ trigger.body.nested | flatten | to_json }}", "[1, [2, [3]], 4]"),
        ("{{ trigger.body.nested | flatten(5) | to_json }}", "[1, 2, 3, 4]"),
        ("{{ trigger.body.posts | pluck('author.name') | to_json }}", '["Ann", null]'),
        (
            "{{ trigger.body.tags | first }}-{{ trigger.body.tags | last | to_json }}",
            'News-{"x": 1}',
        ),
    ],
)
def test_it_has_the_filters_people_need(source, expected):
    assert render(source, DATA) == expected


@pytest.mark.parametrize(
    "source, message",
    [
        ("{{ 'not json' | from_json }}", "from_json: not valid JSON"),
        ("{{ 'NaN' | from_json }}", "from_json: not valid JSON"),
        ("{{ 3 | from_json }}", "from_json takes text, not a number"),
        ("{{ 'someday' | parse_date }}", "parse_date: 'someday' is not a date"),
        ("{{ '2024-13-45' | date_format }}", "is not a date"),
        ("{{ 1e300 | date_format }}", "is not a date"),
        ("{{ trigger.body.when | date_format('%Y', 'Mars/Olympus') }}", "unknown time zone"),
        ("{{ trigger.body.when | to_timezone('../../etc/passwd') }}", "unknown time zone"),
        ("{{ trigger.body.when | date_format('%99999999Y') }}", "unknown directive"),
        ("{{ trigger.body.when | date_format('%' * 300) }}", "1 to 200 characters"),
        ("{{ 'x' | clamp(0, 1) }}", "clamp takes numbers, not text"),
        ("{{ 5 | clamp(10, 1) }}", "lower bound is above the upper bound"),
        ("{{ 'abc' | flatten }}", "flatten takes a list, not text"),
        ("{{ trigger.body.posts | pluck(none) }}", "name the key to take"),
        ("{{ 'a b' | truncate_words(-1) }}", "0 or more"),
        ("{{ {'a': 1} | to_json(indent=1000) }}", "indent must be a number from 0 to 16"),
    ],
)
def test_it_refuses_what_a_filter_cannot_take(source, message):
    with pytest.raises(BadReference) as caught:
        render(source, DATA)
    assert message in caught.value.message


def test_it_refuses_json_nested_too_deeply():
    data = {"trigger": {"body": "[" * 100_000 + "]" * 100_000}, "steps": {}}
    with pytest.raises(BadReference) as caught:
        render("{{ trigger.body | from_json }}", data)
    assert "nested deeper than 200 levels" in caught.value.message


def test_it_refuses_json_text_over_the_size_cap(settings):
    settings.MAX_RENDERED_BYTES = 10_000
    data = {"trigger": {"body": json.dumps(["x" * 100] * 200)}, "steps": {}}
    with pytest.raises(BadReference) as caught:
        render("{{ trigger.body | from_json | length }}", data)
    assert "larger than" in caught.value.message


def test_it_refuses_a_number_too_long_to_convert():
    data = {"trigger": {"body": "1" * 5000}, "steps": {}}
    with pytest.raises(BadReference) as caught:
        render("{{ trigger.body | from_json }}", data)
    assert "from_json: not valid JSON" in caught.value.message


def test_it_checks_what_a_filter_returns(settings):
    """A result is measured like any value: a flattened list cannot pass the item cap."""
    data = {"trigger": {"body": [[0] * 60_000, [0] * 60_000]}, "steps": {}}
    with pytest.raises(BadReference) as caught:
        render("{{ trigger.body | flatten | length }}", data)
    assert "more than 100,000 items" in caught.value.message


def test_it_keeps_to_json_within_the_size_cap(settings):
    settings.MAX_RENDERED_BYTES = 1_000
    data = {"trigger": {"body": ["x" * 50] * 30}, "steps": {}}
    with pytest.raises(BadReference) as caught:
        render("{{ trigger.body | to_json(indent=16) }}", data)
    assert "larger than" in caught.value.message


def test_it_gives_filters_no_way_into_python_objects():
    """Dates are text, never datetime objects whose attributes a template could walk."""
    with pytest.raises(BadReference) as caught:
        render("{{ (trigger.body.when | parse_date).__class__ }}", DATA)
    assert "'str object' has no attribute '__class__'" in caught.value.message


def test_it_strips_scripts_and_tags_whatever_the_nesting():
    html = "<div>" * 5000 + "<script>steal()</script>text" + "</div>" * 5000
    data = {"trigger": {"body": html}, "steps": {}}
    assert render("{{ trigger.body | strip_html }}", data) == "text"
