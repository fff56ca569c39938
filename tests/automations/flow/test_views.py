"""Where nested runs are shown: the API's execution detail, the wizard's execution page
(per-iteration groups, the branch that ran), the editor's step list and the admin."""

from __future__ import annotations

import pytest

from automations.models import Execution
from tests.automations.flow.helpers import automation, condition, flow_step, post, reply
from tests.conftest import api_for

pytestmark = pytest.mark.django_db

STEPS = [
    flow_step("each", "for_each", {"items": "{{ trigger.body.n }}"}, do=[
        flow_step("route", "if", {"conditions": [condition("loop.item", "greater_than", 1)]},
                  then=[flow_step("big", "transform", {"value": "big"})],
                  **{"else": [flow_step("small", "transform", {"value": "small"})]}),
    ]),
    reply("done"),
]  # fmt: skip


@pytest.fixture
def execution(client, team):
    target = automation(team, STEPS)
    post(client, target, {"n": [1, 2]})
    return Execution.objects.get()


def test_the_api_lists_step_runs_in_tree_order_with_path_iteration_and_branch(owner, execution):
    body = api_for(owner).get(f"/api/v1/executions/{execution.pk}/").json()
    rows = [(r["path"], r["iteration"], r["branch"], r["status"]) for r in body["step_runs"]]
    assert rows == [
        ("0", None, "", "succeeded"),
        ("0.do.0.0", 0, "", "succeeded"),
        ("0.do.0.0.then.0", 0, "then", "skipped"),
        ("0.do.0.0.else.0", 0, "else", "succeeded"),
        ("0.do.1.0", 1, "", "succeeded"),
        ("0.do.1.0.then.0", 1, "then", "succeeded"),
        ("0.do.1.0.else.0", 1, "else", "skipped"),
        ("1", None, "", "succeeded"),
    ]


def test_the_execution_page_groups_runs_per_iteration_and_names_the_branch(
    client, owner, execution
):
    client.force_login(owner)
    html = client.get(f"/executions/{execution.pk}/").content.decode()
    assert html.count('<details open class="iteration"') == 2
    assert "<summary>Iteration 0</summary>" in html and "<summary>Iteration 1</summary>" in html
    assert "branch: else" in html and "branch: then" in html
    # The loop's own row comes first, then its iterations, then the next step.
    assert html.index('data-path="0"') < html.index("Iteration 0") < html.index('data-path="1"')


def test_the_editor_lists_nested_steps_indented_with_their_own_pages(client, owner, team):
    target = automation(team, STEPS)
    client.force_login(owner)
    html = client.get(f"/automations/{target.pk}/").content.decode()
    # In the step list and in the overview's step order.
    assert html.count('class="nested-step"') == 6
    assert f"/automations/{target.pk}/steps/big/" in html


def test_the_editor_saves_a_nested_step_where_it_sits(client, owner, team):
    target = automation(team, STEPS)
    client.force_login(owner)
    client.post(
        f"/automations/{target.pk}/steps/big/",
        {"connector": "flow", "action": "transform", "name": "Big", "value": "x"},
    )
    big = target.steps.get(key="big")
    assert (big.parent.key, big.branch, big.config) == ("route", "then", {"value": "x"})


def test_the_admin_shows_the_tree_read_only(client, admin_user, team):
    target = automation(team, STEPS)
    client.force_login(admin_user)
    html = client.get(f"/admin/automations/automation/{target.pk}/change/").content.decode()
    assert "Step tree" in html and "&quot;do&quot;" in html
    assert 'name="steps-0-key"' not in html  # rows shown, not editable
