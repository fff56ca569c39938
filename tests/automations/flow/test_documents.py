"""Nested steps in the API's validation and in documents."""

from __future__ import annotations

import pytest

from automations import documents, services
from automations.models import Step
from tests.automations.factories import make_project
from tests.automations.flow.helpers import condition, definition, fetch, flow_step, reply
from tests.conftest import api_for

pytestmark = pytest.mark.django_db

TREE = [
    flow_step("each", "for_each", {"items": "{{ trigger.body.tags }}"}, do=[
        flow_step("route", "if", {"conditions": [condition("loop.item", "equals", "x")]},
                  then=[fetch("look", "https://example.com/{{ loop.item }}")],
                  **{"else": [flow_step("note", "transform", {"value": "{{ loop.index }}"})]}),
    ]),
    flow_step("wait", "delay", {"minutes": 5}),
]  # fmt: skip


def _create(owner, team, steps):
    project = make_project(team)
    return api_for(owner).post(
        "/api/v1/automations/", {"project": project.pk, **definition(steps)}, format="json"
    )


def test_it_reports_problems_with_paths_into_nested_lists(owner, team):
    steps = [flow_step("route", "if", {"conditions": [condition("trigger.body.p", "equals", 1)]},
                       then=[{**fetch("look", ""), "key": "route"}])]  # fmt: skip
    response = _create(owner, team, steps)
    assert response.status_code == 400
    errors = response.json()["errors"] if "errors" in response.json() else response.json()
    text = str(errors)
    assert "steps[0].then[0].config.url" in text
    assert "steps[0].then[0].key" in text and "used by an earlier step" in text


def test_loop_references_are_refused_outside_a_loop(owner, team):
    response = _create(owner, team, [reply("{{ loop.item }}")])
    assert response.status_code == 400
    assert "only inside a for_each" in str(response.json())


def test_a_step_inside_a_loop_cannot_be_named_after_it(owner, team):
    loop = flow_step("each", "for_each", {"items": [1]},
                     do=[flow_step("inner", "transform", {"value": 1})])  # fmt: skip
    response = _create(owner, team, [loop, reply("{{ steps.inner }}")])
    assert response.status_code == 400
    assert "'inner', which does not come before" in str(response.json())


def test_only_branches_and_loops_hold_steps(owner, team):
    response = _create(owner, team, [{**reply("hi"), "do": [reply("x", key="inner")]}])
    assert response.status_code == 400
    assert "steps[0].do" in str(response.json())


def test_an_automation_that_answers_inline_refuses_a_delay_longer_than_its_time(
    owner, team, settings
):
    settings.SYNC_RESPONSE_TIMEOUT = 30
    steps = [flow_step("wait", "delay", {"seconds": 20}),
             flow_step("more", "delay", {"seconds": 15}), reply("late")]  # fmt: skip
    response = _create(owner, team, steps)
    assert response.status_code == 400
    assert "steps[1].config.seconds" in str(response.json())
    assert "answers within 30 s" in str(response.json())


def test_a_queued_automation_may_wait_for_hours(owner, team):
    assert _create(owner, team, [flow_step("wait", "delay", {"hours": 2})]).status_code == 201


def test_nested_steps_are_stored_under_their_holder(team):
    services.automation_create(project=make_project(team), data=definition(TREE))
    look = Step.objects.get(key="look")
    assert (look.parent.key, look.branch, look.position) == ("route", "then", 0)
    assert Step.objects.get(key="route").parent.key == "each"


def test_export_then_import_gives_the_same_document(team):
    automation = services.automation_create(project=make_project(team), data=definition(TREE))
    exported = services.automation_export(automation=automation)
    assert exported["steps"][0]["do"][0]["then"][0]["key"] == "look"
    copy = services.automation_import(project=make_project(team), document=exported, name="Flow")
    assert services.automation_export(automation=copy) == exported


def test_a_document_without_branches_reads_as_before(team):
    document = {"format": documents.FORMAT, **definition([reply("hi")])}
    imported = services.automation_import(project=make_project(team), document=document)
    assert "then" not in services.automation_export(automation=imported)["steps"][0]


def test_editing_moves_a_step_into_a_branch(team):
    automation = services.automation_create(
        project=make_project(team),
        data=definition([flow_step("route", "if", {"conditions": [condition("trigger.x", "is_empty")]}),
                         flow_step("note", "transform", {"value": 1})]),
    )  # fmt: skip
    steps = [flow_step("route", "if", {"conditions": [condition("trigger.x", "is_empty")]},
                       then=[flow_step("note", "transform", {"value": 1})])]  # fmt: skip
    services.automation_update(automation=automation, data={"steps": steps})
    note = Step.objects.get(key="note")
    assert note.parent.key == "route" and note.branch == "then"
