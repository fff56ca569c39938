"""Templates cannot exhaust the server: compiling folds nothing, and rendering is
bounded in size (MAX_RENDERED_BYTES) and time (MAX_RENDER_SECONDS)."""

from __future__ import annotations

import json

import pytest
from django.test import override_settings

from automations import services
from automations.models import Execution, Status
from tests.automations.factories import make_project

pytestmark = pytest.mark.django_db


def definition(body, project=None):
    data = {
        "name": "Echo",
        "trigger": {"connector": "http", "trigger": "request", "config": {"method": "POST"}},
        "steps": [{"key": "reply", "connector": "response", "action": "respond",
                   "config": {"status": 200, "body": body}}],
    }  # fmt: skip
    if project is not None:
        data["project"] = project.pk
    return data


def hook(team, body):
    automation = services.automation_create(project=make_project(team), data=definition(body))
    return services.automation_activate(automation=automation)


def post(client, automation, payload):
    return client.post(
        f"/hooks/{automation.webhook_token}/", json.dumps(payload), content_type="application/json"
    )


def failed_step(response) -> str:
    assert response.status_code >= 400, response.content[:200]
    execution = Execution.objects.latest("pk")
    assert execution.status == Status.FAILED
    return execution.error


# -- at save time -------------------------------------------------------------------------


def test_it_refuses_to_save_the_power_the_compiler_used_to_fold(api, team):
    response = api.post(
        "/api/v1/automations/", definition("{{ 9 ** (9 ** 8) }}", make_project(team)),
        format="json",
    )  # fmt: skip
    assert response.status_code == 400
    assert "too large" in response.json()["steps[0].config.body"][0]


def test_it_refuses_to_save_a_constant_repetition_over_the_cap(api, team):
    response = api.post(
        "/api/v1/automations/", definition("{{ 'A' * 2000000 }}", make_project(team)),
        format="json",
    )  # fmt: skip
    assert response.status_code == 400
    assert response.json() == {"steps[0].config.body": ["the value is larger than 1 MB"]}


def test_it_refuses_to_update_with_a_constant_repetition_over_the_cap(api, team):
    automation = hook(team, "fine")
    response = api.put(
        f"/api/v1/automations/{automation.pk}/", definition("x{{ '%0999999999d' % 1 }}"),
        format="json",
    )  # fmt: skip
    assert response.status_code == 400
    assert response.json() == {"steps[0].config.body": ["the value is larger than 1 MB"]}
    automation.refresh_from_db()
    assert automation.steps.get().config["body"] == "fine"


# -- at run time --------------------------------------------------------------------------


def test_it_fails_a_repetition_of_caller_data_over_the_cap_and_keeps_serving(client, team):
    automation = hook(team, "x{{ trigger.body.text * trigger.body.n }}")
    response = post(client, automation, {"text": "AB", "n": 2_000_000})
    assert "field 'body': the value is larger than 1 MB" in failed_step(response)
    assert response.json()["execution_id"] == Execution.objects.latest("pk").pk
    again = post(client, automation, {"text": "AB", "n": 3})
    assert again.status_code == 200
    assert again.content == b"xABABAB"


def test_it_stops_nested_loops_over_caller_data_at_the_size_cap(client, team):
    automation = hook(
        team,
        "{% for a in trigger.body.items %}{% for b in trigger.body.items %}"
        "{{ a }}-{{ b }},{% endfor %}{% endfor %}",
    )
    response = post(client, automation, {"items": list(range(500))})
    assert "the value is larger than 1 MB" in failed_step(response)


def test_it_caps_what_a_set_block_collects(client, team):
    automation = hook(
        team,
        "{% set x %}{% for a in trigger.body.items %}{% for b in trigger.body.items %}"
        "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
        "{% endfor %}{% endfor %}{% endset %}{{ x | length }}",
    )
    response = post(client, automation, {"items": list(range(200))})
    assert "the value is larger than 1 MB" in failed_step(response)


@override_settings(MAX_RENDER_SECONDS=0.1)
def test_it_stops_a_render_that_passes_the_time_limit(client, team):
    automation = hook(
        team,
        "{% for a in trigger.body.items %}{% for b in trigger.body.items %}"
        "{% for c in trigger.body.items %}{% endfor %}{% endfor %}{% endfor %}done",
    )
    response = post(client, automation, {"items": list(range(300))})
    assert "field 'body': took longer than 0.1 s to render" in failed_step(response)


@override_settings(MAX_RENDERED_BYTES=1000)
def test_it_caps_rendered_values_at_the_configured_size(client, team):
    automation = hook(team, "x{{ trigger.body.text }}")
    assert post(client, automation, {"text": "A" * 900}).status_code == 200
    response = post(client, automation, {"text": "A" * 1000})
    assert "the value is larger than 1000 bytes" in failed_step(response)


@pytest.mark.parametrize(
    "body",
    [
        "{{ trigger.body.text | center(trigger.body.n) }}",
        "{{ trigger.body.text | indent(trigger.body.n) }}",
        "{{ trigger.body.text | replace('A', trigger.body.text) }}",
        "{{ ([trigger.body.text] * 1000) | join(trigger.body.text) }}",
        "{{ ([trigger.body.text] * 1000) | string }}",
        "{{ [trigger.body.text] | batch(trigger.body.n, trigger.body.text) }}",
        "{{ trigger.body.text ~ trigger.body.text ~ trigger.body.text ~ trigger.body.text }}",
        "x{{ '%0*d' | format(trigger.body.n, 1) }}",
        "x{{ ('%0' ~ trigger.body.n ~ 'd') % 1 }}",
    ],
)
def test_it_refuses_filters_and_operators_that_multiply_caller_data(client, team, body):
    automation = hook(team, body)
    response = post(client, automation, {"text": "A\n" * 200_000, "n": 2_000_000})
    error = failed_step(response)
    assert any(
        refusal in error
        for refusal in ("larger than 1 MB", "more than 100,000 items", "width from its arguments")
    ), error
