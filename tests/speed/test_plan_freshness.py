"""A webhook served from a cached plan whose freshness only the insert confirms
(engine/plans.py, engine/inserts.py): an edit, a switch-off or a new secret made after
the plan was cached is honoured on the next call, and a stale try writes nothing. On
PostgreSQL the insert is one statement, on SQLite a short transaction of two
(tests/speed/test_inserts.py)."""

from __future__ import annotations

import json

import pytest

from automations import services
from automations.models import Execution, StepRun
from tests.automations.factories import make_project

pytestmark = pytest.mark.django_db


def definition(version="A", secret=None, respond=True):
    config = {"method": "POST", **({"secret": secret} if secret else {})}
    if respond:
        steps = [
            {
                "key": "reply",
                "connector": "response",
                "action": "respond",
                "config": {"body": {"v": version}},
            }
        ]
    else:
        steps = [
            {
                "key": "shape",
                "connector": "flow",
                "action": "transform",
                "config": {"value": {"v": version}},
            }
        ]
    return {
        "name": "Echo",
        "trigger": {"connector": "http", "trigger": "request", "config": config},
        "steps": steps,
    }


def hook(team, **kwargs):
    automation = services.automation_create(project=make_project(team), data=definition(**kwargs))
    return services.automation_activate(automation=automation)


def call(client, automation, **extra):
    return client.post(
        f"/hooks/{automation.webhook_token}/",
        json.dumps({"n": 1}),
        content_type="application/json",
        **extra,
    )


def test_it_answers_with_an_edit_made_after_the_plan_was_cached(client, team):
    answers_the_edit(client, team)


@pytest.mark.django_db(transaction=True)
def test_outside_a_transaction_it_answers_with_an_edit_made_after_the_plan_was_cached(client, team):
    # As in production: the stale try's transaction is the insert's own.
    answers_the_edit(client, team)


def answers_the_edit(client, team):
    automation = hook(team)
    assert call(client, automation).json() == {"v": "A"}
    services.automation_update(automation=automation, data=definition("B"))
    assert call(client, automation).json() == {"v": "B"}
    assert Execution.objects.count() == 2
    assert StepRun.objects.count() == 2


def test_it_refuses_once_switched_off_after_the_plan_was_cached(client, team):
    automation = hook(team)
    assert call(client, automation).status_code == 200
    services.automation_deactivate(automation=automation)
    assert call(client, automation).status_code == 409
    assert Execution.objects.count() == 1


def test_it_takes_a_new_secret_after_the_plan_was_cached(client, team):
    automation = hook(team, secret="old-secret-1234")
    assert call(client, automation, HTTP_X_SWITCHBOARD_KEY="old-secret-1234").status_code == 200
    services.automation_update(automation=automation, data=definition(secret="new-secret-5678"))
    assert call(client, automation, HTTP_X_SWITCHBOARD_KEY="new-secret-5678").status_code == 200
    assert call(client, automation, HTTP_X_SWITCHBOARD_KEY="old-secret-1234").status_code == 401


def test_it_queues_a_run_of_the_edited_automation_once(
    client, team, django_capture_on_commit_callbacks
):
    automation = hook(team, respond=False)
    with django_capture_on_commit_callbacks(execute=True):
        assert call(client, automation).status_code == 202
        services.automation_update(automation=automation, data=definition("B", respond=False))
        assert call(client, automation).status_code == 202
    assert Execution.objects.count() == 2
    latest = Execution.objects.order_by("-pk").first()
    assert latest.step_runs.get().output == {"v": "B"}
