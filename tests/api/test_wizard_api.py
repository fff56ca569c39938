"""Test Trigger, Test Action and Suggested Data Elements, as the wizard uses them."""

from __future__ import annotations

import pytest

from automations.models import Execution, Status
from tests.automations.factories import make_project
from tests.support.flows import http_automation

pytestmark = pytest.mark.django_db


@pytest.fixture
def automation(team):
    return http_automation(make_project(team), "Greeter", [
        {"key": "shout", "name": "Shout", "connector": "response", "action": "respond",
         "config": {"body": {"loud": "{{ trigger.body.text | upper }}", "items": [1, 2]}}},
        {"key": "reply", "name": "Reply", "connector": "response", "action": "respond",
         "config": {"body": "{{ steps.shout.body.loud }}!"}},
    ], active=False)  # fmt: skip


def test_test_trigger_stores_a_sample(api, automation):
    response = api.post(f"/api/v1/automations/{automation.pk}/test-trigger/")
    assert response.status_code == 200
    assert response.json()["sample"]["body"] == {"text": "Hello, world"}
    automation.refresh_from_db()
    assert automation.trigger_sample["method"] == "POST"


def test_test_action_runs_one_step_with_the_samples(api, automation):
    api.post(f"/api/v1/automations/{automation.pk}/test-trigger/")
    first = api.post(f"/api/v1/automations/{automation.pk}/steps/shout/test/").json()
    assert first["status"] == "succeeded" and first["is_test"] is True
    assert first["step_runs"][0]["output"]["body"]["loud"] == "HELLO, WORLD"
    second = api.post(f"/api/v1/automations/{automation.pk}/steps/reply/test/").json()
    assert [r["step_key"] for r in second["step_runs"]] == ["shout", "reply"]
    assert second["step_runs"][0]["reused"] is True
    assert second["step_runs"][1]["output"]["body"] == "HELLO, WORLD!"
    assert automation.steps.get(key="reply").sample_output["body"] == "HELLO, WORLD!"
    assert Execution.objects.filter(is_test=True).count() == 2


def test_test_action_says_which_sample_is_missing(api, automation):
    api.post(f"/api/v1/automations/{automation.pk}/test-trigger/")
    response = api.post(f"/api/v1/automations/{automation.pk}/steps/reply/test/")
    assert response.status_code == 400
    assert response.json() == {"step": ["Test 'Shout' first: this step uses its output."]}
    fresh = http_automation(automation.project, "Fresh", [
        {"key": "a", "connector": "response", "action": "respond", "config": {"body": "{{ trigger.body }}"}}
    ], active=False)  # fmt: skip
    response = api.post(f"/api/v1/automations/{fresh.pk}/steps/a/test/")
    assert response.json() == {"step": ["Test the trigger first: this step uses its output."]}
    assert not Execution.objects.filter(status=Status.RUNNING).exists()


def test_suggestions_list_the_paths_of_earlier_samples(api, automation):
    api.post(f"/api/v1/automations/{automation.pk}/test-trigger/")
    api.post(f"/api/v1/automations/{automation.pk}/steps/shout/test/")
    rows = api.get(
        f"/api/v1/automations/{automation.pk}/data-elements/", {"before": "reply"}
    ).json()
    references = [row["reference"] for row in rows]
    assert "{{ trigger.body.text }}" in references
    assert "{{ steps.shout.body.loud }}" in references
    assert "{{ steps.shout.body.items.0 }}" in references
    loud = next(row for row in rows if row["path"] == "steps.shout.body.loud")
    assert loud["example"] == "HELLO, WORLD" and loud["source"] == "Shout"
    only_trigger = api.get(
        f"/api/v1/automations/{automation.pk}/data-elements/", {"before": "shout"}
    ).json()
    assert all(row["path"].startswith("trigger") for row in only_trigger)


@pytest.fixture
def looping(team):
    from tests.automations.flow.helpers import flow_step

    return http_automation(make_project(team), "Looping", [
        {"key": "shout", "name": "Shout", "connector": "response", "action": "respond",
         "config": {"body": {"items": ["a", "b"]}}},
        flow_step("each", "for_each", {"items": "{{ steps.shout.body.items }}"}, do=[
            {"key": "inner", "name": "Inner", "connector": "response", "action": "respond",
             "config": {"body": "{{ loop.item }}"}},
        ]),
    ], active=False)  # fmt: skip


def test_suggestions_for_a_new_step_inside_a_loop(api, looping):
    api.post(f"/api/v1/automations/{looping.pk}/test-trigger/")
    api.post(f"/api/v1/automations/{looping.pk}/steps/shout/test/")
    url = f"/api/v1/automations/{looping.pk}/data-elements/"
    rows = api.get(url, {"parent": "each", "branch": "do"}).json()
    paths = {row["path"]: row.get("example") for row in rows}
    assert paths["loop.item"] == "a" and "steps.shout.body.items.0" in paths
    assert "steps.inner" not in str(paths)
    top = api.get(url).json()
    assert not any(row["path"].startswith("loop.") for row in top)


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"before": "nope"}, "before"),
        ({"parent": "nope", "branch": "do"}, "parent"),
        ({"parent": "each", "branch": "then"}, "branch"),
        ({"parent": "shout", "branch": "do"}, "branch"),
        ({"parent": "each", "branch": "do", "before": "inner"}, "parent"),
    ],
)
def test_suggestions_refuse_a_place_the_automation_does_not_have(api, looping, query, field):
    response = api.get(f"/api/v1/automations/{looping.pk}/data-elements/", query)
    assert response.status_code == 400
    assert list(response.json()) == [field]
