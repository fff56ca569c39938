from __future__ import annotations

import pytest
from django_q.models import Schedule

from automations import services, tasks
from automations.models import Execution, Status
from tests.automations.factories import make_project

pytestmark = pytest.mark.django_db


@pytest.fixture
def scheduled(team):
    return services.automation_create(project=make_project(team), data={
        "name": "Every two hours",
        "trigger": {"connector": "schedule", "trigger": "every", "config": {"every": 2, "unit": "hours"}},
        "steps": [{"key": "note", "connector": "response", "action": "respond",
                   "config": {"body": "ran at {{ trigger.scheduled_at }}"}}],
    })  # fmt: skip


def test_activation_creates_a_schedule_and_deactivation_removes_it(scheduled):
    services.automation_activate(automation=scheduled)
    schedule = Schedule.objects.get(name=f"switchboard: automation {scheduled.pk}")
    assert (schedule.func, schedule.args, schedule.minutes) == (
        "automations.tasks.run_scheduled",
        str(scheduled.pk),
        120,
    )
    services.automation_deactivate(automation=scheduled)
    assert not Schedule.objects.filter(name__startswith="switchboard: automation").exists()


def test_changing_the_interval_of_an_active_automation_moves_its_schedule(scheduled):
    services.automation_activate(automation=scheduled)
    services.automation_update(automation=scheduled, data={"trigger": {
        "connector": "schedule", "trigger": "every", "config": {"every": 15, "unit": "minutes"}}})  # fmt: skip
    assert Schedule.objects.get(name=f"switchboard: automation {scheduled.pk}").minutes == 15


def test_a_tick_runs_the_automation(scheduled):
    services.automation_activate(automation=scheduled)
    assert tasks.run_scheduled(str(scheduled.pk)) == Status.SUCCEEDED
    execution = Execution.objects.get()
    assert execution.trigger_output["interval_minutes"] == 120
    assert execution.step_runs.get().output["body"].startswith("ran at 20")


def test_a_tick_for_a_switched_off_automation_does_nothing(scheduled):
    assert tasks.run_scheduled(str(scheduled.pk)) == "skipped"
    assert not Execution.objects.exists()


def test_a_scheduled_automation_has_no_webhook(scheduled, client):
    services.automation_activate(automation=scheduled)
    assert client.post(f"/hooks/{scheduled.webhook_token}/").status_code == 404
