"""Each flow action, and references inside loops, run through a webhook (inline)."""

from __future__ import annotations

import pytest

from automations.models import Execution, Status
from tests.automations.flow.helpers import automation, condition, flow_step, post, reply, runs

pytestmark = pytest.mark.django_db

URGENT = [condition("trigger.body.priority", "equals", "high")]


def branch(**config):
    return flow_step(
        "route", "if", {"conditions": URGENT, **config},
        then=[reply({"urgent": True}, key="loud")], **{"else": [reply({"urgent": False})]},
    )  # fmt: skip


def test_it_takes_the_then_branch_when_the_conditions_hold(client, team):
    response = post(client, automation(team, [branch()]), {"priority": "high"})
    assert response.json() == {"urgent": True}
    logged = runs(Execution.objects.get())
    assert logged["0"] == (Status.SUCCEEDED, {"branch": "then"})
    assert logged["0.else.0"][0] == Status.SKIPPED


def test_it_takes_the_else_branch_otherwise(client, team):
    response = post(client, automation(team, [branch()]), {"priority": "low"})
    assert response.json() == {"urgent": False}
    assert runs(Execution.objects.get())["0.then.0"][0] == Status.SKIPPED


def test_any_matches_when_one_condition_holds(client, team):
    rows = [*URGENT, condition("trigger.body.vip", "equals", "yes")]
    step = branch(conditions=rows, match="any")
    assert post(client, automation(team, [step]), {"vip": "yes"}).json() == {"urgent": True}


def test_it_loops_over_the_items_with_the_item_and_index(client, team):
    loop = flow_step(
        "each", "for_each", {"items": "{{ trigger.body.tags }}"},
        do=[flow_step("shout", "transform", {"value": {"tag": "{{ loop.item }}",
                                                       "at": "{{ loop.index }}"}})],
    )  # fmt: skip
    target = automation(team, [loop, reply("{{ steps.each }}")])
    response = post(client, target, {"tags": ["a", "b"]})
    assert response.json() == {
        "count": 2,
        "results": [{"shout": {"tag": "a", "at": 0}}, {"shout": {"tag": "b", "at": 1}}],
    }
    logged = Execution.objects.get().step_runs.get(path="0.do.1.0")
    assert logged.iteration == 1 and logged.output == {"tag": "b", "at": 1}


def test_a_step_in_a_loop_sees_the_outputs_of_its_own_iteration(client, team):
    loop = flow_step("each", "for_each", {"items": "{{ trigger.body.n }}"}, do=[
        flow_step("double", "transform", {"value": "{{ loop.item * 2 }}"}),
        flow_step("again", "transform", {"value": "{{ steps.double }}!"}),
    ])  # fmt: skip
    response = post(client, automation(team, [loop, reply("{{ steps.each.results }}")]),
                    {"n": [1, 2]})  # fmt: skip
    assert [r["again"] for r in response.json()] == ["2!", "4!"]


def test_a_list_longer_than_max_items_fails_before_the_first_iteration(client, team):
    loop = flow_step("each", "for_each", {"items": "{{ trigger.body.n }}", "max_items": 2},
                     do=[flow_step("noop", "transform", {"value": 1})])  # fmt: skip
    response = post(client, automation(team, [loop, reply("done")]), {"n": [1, 2, 3]})
    assert response.status_code == 502
    execution = Execution.objects.get()
    assert "3 items, more than the 2 allowed" in execution.error
    assert not execution.step_runs.filter(path__startswith="0.do").exists()


def test_a_failing_iteration_fails_the_loop_naming_its_index(client, team):
    loop = flow_step("each", "for_each", {"items": "{{ trigger.body.n }}"}, do=[
        flow_step("pick", "transform", {"value": "{{ trigger.body.table[loop.item] }}"}),
    ])  # fmt: skip
    post(client, automation(team, [loop, reply("done")]), {"n": [0, 5], "table": [1]})
    execution = Execution.objects.get()
    assert execution.status == Status.FAILED
    assert execution.error.startswith("Step 'each' failed at item 1: Step 'pick' failed")
    assert runs(execution)["0.do.0.0"][0] == Status.SUCCEEDED


def test_transform_outputs_the_resolved_value(client, team):
    shape = flow_step("shape", "transform", {"value": {"who": "{{ trigger.body.user.name }}",
                                                       "tags": "{{ trigger.body.tags }}"}})  # fmt: skip
    target = automation(team, [shape, reply("{{ steps.shape }}")])
    assert post(client, target, {"user": {"name": "Ann"}, "tags": ["x"]}).json() == {
        "who": "Ann", "tags": ["x"],
    }  # fmt: skip


def test_stop_ends_the_run_with_its_outcome_and_message(client, team):
    stop = flow_step("halt", "stop", {"outcome": "failed", "message": "Not for us"})
    post(client, automation(team, [stop, reply("never")]), {})
    execution = Execution.objects.get()
    assert execution.status == Status.FAILED and execution.error == "Not for us"
    assert list(execution.step_runs.values_list("step_key", flat=True)) == ["halt"]


def test_stop_as_succeeded_ends_the_run_as_succeeded(client, team):
    halt = flow_step("halt", "stop", {"outcome": "succeeded", "message": "Nothing to do"})
    target = automation(team, [reply("early"), halt, reply("late", key="late")])
    assert post(client, target, {}).content == b"early"
    execution = Execution.objects.get()
    assert execution.status == Status.SUCCEEDED and execution.error == ""
    assert not execution.step_runs.filter(step_key="late").exists()


def test_a_short_delay_in_an_inline_run_waits_in_place(client, team):
    wait = flow_step("wait", "delay", {"seconds": 0.2})
    response = post(client, automation(team, [wait, reply("after")]), {})
    assert response.content == b"after"
    assert runs(Execution.objects.get())["0"] == (Status.SUCCEEDED, {"seconds": 0.2})


def test_a_reference_to_a_skipped_step_names_the_branch_not_taken(client, team):
    route = flow_step("route", "if", {"conditions": URGENT},
                      then=[flow_step("page", "transform", {"value": "paged"})])  # fmt: skip
    post(client, automation(team, [route, reply("{{ steps.page }}")]), {"priority": "low"})
    execution = Execution.objects.get()
    assert execution.status == Status.FAILED
    assert "step 'page' did not run: it is in the 'then' branch of 'route'" in execution.error


def test_a_default_stands_in_for_a_skipped_step(client, team):
    route = flow_step("route", "if", {"conditions": URGENT},
                      then=[flow_step("page", "transform", {"value": "paged"})])  # fmt: skip
    target = automation(team, [route, reply("{{ steps.page | default('quiet') }}")])
    assert post(client, target, {"priority": "low"}).content == b"quiet"
