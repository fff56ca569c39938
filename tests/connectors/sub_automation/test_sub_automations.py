from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from automations import services
from automations.models import Execution
from connectors.base import ConnectorError
from connectors.sub_automation.connector import check_arguments
from tests.automations.factories import make_project
from tests.support.flows import Status, http_automation, reply_step, run_now, sub_automation

pytestmark = pytest.mark.django_db

SCHEMA = [
    {"key": "text", "type": "string", "required": True, "description": ""},
    {"key": "count", "type": "integer", "required": False, "description": ""},
    {"key": "ratio", "type": "number", "required": False, "description": ""},
    {"key": "loud", "type": "boolean", "required": False, "description": ""},
    {"key": "meta", "type": "object", "required": False, "description": ""},
    {"key": "tags", "type": "array", "required": False, "description": ""},
]


def run_step(name, arguments="{{ trigger.body }}"):
    return {"key": "run", "connector": "sub_automation", "action": "run",
            "config": {"sub_automation": name, "arguments": arguments}}  # fmt: skip


def test_arguments_are_checked_against_the_declared_inputs():
    good = {"text": "a", "count": 2, "ratio": 0.5, "loud": True, "meta": {}, "tags": []}
    assert check_arguments(SCHEMA, good) == good
    with pytest.raises(ConnectorError) as caught:
        check_arguments(
            SCHEMA, {"count": "two", "ratio": True, "loud": "yes", "tags": {}, "extra": 1}
        )
    message = caught.value.message
    for expected in ("text: is required", "count: must be an integer", "ratio: must be a number",
                     "loud: must be a boolean", "tags: must be an array",
                     "extra: is not an input of this sub automation"):  # fmt: skip
        assert expected in message


def test_a_child_execution_is_linked_and_its_response_is_the_output(team):
    project = make_project(team)
    sub_automation(
        project, "Greeter", "Greets", SCHEMA[:1], [reply_step("Hello {{ trigger.text }}")]
    )
    parent = http_automation(project, "Main", [run_step("Greeter")])
    execution = run_now(parent, {"body": {"text": "Ada"}})
    assert execution.status == Status.SUCCEEDED, execution.error
    assert execution.step_runs.get().output == "Hello Ada"
    child = Execution.objects.get(parent=execution)
    assert child.depth == 1 and child.status == Status.SUCCEEDED
    assert child.trigger_output == {"text": "Ada"}


def test_without_a_response_step_the_last_output_is_returned(team):
    project = make_project(team)
    steps = [
        {"key": "a", "connector": "response", "action": "respond", "config": {"body": "ignored"}}
    ]
    sub = sub_automation(project, "Quiet", "", [], [])
    sub_automation(project, "Inner", "", [], steps)
    services.automation_update(automation=sub, data={"steps": [
        {"key": "fetchless", "connector": "sub_automation", "action": "run",
         "config": {"sub_automation": "Inner", "arguments": {}}}]})  # fmt: skip
    execution = run_now(http_automation(project, "Main", [run_step("Quiet", {})]))
    assert execution.status == Status.SUCCEEDED, execution.error
    assert execution.step_runs.get().output == "ignored"


def test_only_active_sub_automations_can_be_called(team):
    project = make_project(team)
    sleeping = sub_automation(project, "Sleeping", "", [], [reply_step("zzz")])
    main = http_automation(project, "Main", [run_step("Sleeping", {})])
    services.automation_deactivate(automation=sleeping)  # switched off after the parent
    execution = run_now(main)
    assert execution.status == Status.FAILED
    assert "The sub automation 'Sleeping' is not active." in execution.error


def test_a_name_from_another_project_is_not_found(team):
    here = make_project(team, "Here")
    moved = sub_automation(here, "Elsewhere", "", [], [reply_step("x")])
    main = http_automation(here, "Main", [run_step("Elsewhere", {})])
    # Moved to another project after the parent was saved (as the admin can).
    type(moved).objects.filter(pk=moved.pk).update(project=make_project(team, "Other"))
    execution = run_now(main)
    assert "There is no sub automation named 'Elsewhere' in this project." in execution.error


def test_a_cycle_is_stopped(team):
    project = make_project(team)
    sub_automation(project, "Loop", "", [], [run_step("Loop", {})])
    execution = run_now(http_automation(project, "Main", [run_step("Loop", {})]))
    assert execution.status == Status.FAILED
    assert "already running further up this chain (a cycle)" in execution.error


def test_a_depth_limit_stops_runaway_nesting(team, settings):
    settings.SUB_AUTOMATION_MAX_DEPTH = 2
    project = make_project(team)
    sub_automation(project, "L3", "", [], [reply_step("deep")])
    sub_automation(project, "L2", "", [], [run_step("L3", {})])
    sub_automation(project, "L1", "", [], [run_step("L2", {})])
    execution = run_now(http_automation(project, "Main", [run_step("L1", {})]))
    assert execution.status == Status.FAILED
    assert "nested more than 2 deep" in execution.error
    assert Execution.objects.filter(depth=2).exists()


def test_a_failing_child_fails_the_step_with_its_error(team):
    project = make_project(team)
    sub_automation(project, "Broken", "", [], [reply_step("{{ trigger.missing }}")])
    execution = run_now(http_automation(project, "Main", [run_step("Broken", {})]))
    assert (
        "The sub automation 'Broken' failed: Step 'reply' failed: field 'body'" in execution.error
    )
    child = Execution.objects.get(parent=execution)
    assert child.status == Status.FAILED


def test_a_sub_automation_has_no_webhook(team, client):
    sub = sub_automation(make_project(team), "Hidden", "", [], [reply_step("x")])
    assert client.post(f"/hooks/{sub.webhook_token}/").status_code == 404


def test_it_refuses_to_save_a_step_naming_a_missing_sub_automation(team):
    with pytest.raises(ValidationError) as caught:
        http_automation(make_project(team), "Main", [run_step("Nowhere", {})], active=False)
    assert "'Nowhere', which is not a sub automation of this project" in str(caught.value)


def test_it_refuses_to_activate_a_parent_whose_sub_automation_is_off(team):
    project = make_project(team)
    sub_automation(project, "Sleeping", "", [], [reply_step("zzz")], active=False)
    main = http_automation(project, "Main", [run_step("Sleeping", {})], active=False)
    with pytest.raises(ValidationError, match="not active: Sleeping"):
        services.automation_activate(automation=main)


def test_it_activates_a_parent_together_with_its_sub_automations(team):
    project = make_project(team)
    inner = sub_automation(project, "Inner", "", [], [reply_step("in")], active=False)
    outer = sub_automation(project, "Outer", "", [], [run_step("Inner", {})], active=False)
    main = http_automation(project, "Main", [run_step("Outer", {})], active=False)
    activated = services.automation_activate_together(automation=main)
    assert [a.name for a in activated] == ["Inner", "Outer", "Main"]
    inner.refresh_from_db(), outer.refresh_from_db()
    assert inner.active and outer.active
