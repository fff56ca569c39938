"""Any exception in a step fails that step and the execution, with a reason: an inline
webhook answers 502 with the execution's id, a queued run ends failed with its step runs.
The log write failing still leaves a final status."""

from __future__ import annotations

import json
import logging

import pytest
from django.db import connection

from automations.models import Execution, Status, Step
from automations.services import automation_run
from tests.automations.factories import make_project
from tests.support.flows import http_automation, reply_step

pytestmark = pytest.mark.django_db


def post(client, automation, body):
    return client.post(
        f"/hooks/{automation.webhook_token}/", json.dumps(body), content_type="application/json"
    )


def replying(team, body, *before):
    return http_automation(make_project(team), "Reply", [*before, reply_step(body)])


@pytest.mark.parametrize(
    "template",
    ["{{ trigger.body.n | wordwrap }}", "{{ trigger.body.n | xmlattr }}",
     "{{ trigger.body.n | dictsort }}"],
)  # fmt: skip
def test_it_answers_502_when_a_filter_is_given_a_number(client, team, template):
    automation = replying(team, template)
    response = post(client, automation, {"n": 5})
    assert response.status_code == 502
    execution = Execution.objects.get(pk=response.json()["execution_id"])
    assert execution.status == Status.FAILED
    assert "could not be resolved" in execution.error


def test_it_answers_502_when_a_reference_divides_by_zero(client, team):
    automation = replying(team, "{{ trigger.body.n / 0 }}")
    response = post(client, automation, {"n": 3})
    assert response.status_code == 502
    execution = Execution.objects.get(pk=response.json()["execution_id"])
    assert execution.status == Status.FAILED
    assert "ZeroDivisionError" in execution.error
    assert "Step 'reply' failed: field 'body'" in execution.error
    assert execution.step_runs.get().status == Status.FAILED


def test_it_answers_502_when_a_reference_includes_a_template(client, team):
    automation = replying(team, "{% include 'x' %}")
    response = post(client, automation, {})
    assert response.status_code == 502
    assert "could not be resolved" in response.json()["error"]
    assert Execution.objects.get().status == Status.FAILED


def test_it_answers_502_when_a_map_filter_fails(client, team):
    automation = replying(team, "{{ trigger.body.items | map(attribute='x') | join(',') }}")
    response = post(client, automation, {"items": [1, 2]})
    assert response.status_code == 502
    assert Execution.objects.get(pk=response.json()["execution_id"]).status == Status.FAILED


def test_it_refuses_a_power_too_large_to_compute(client, team):
    automation = replying(team, "{{ 9 ** trigger.body.n }}")
    response = post(client, automation, {"n": 10**8})
    assert response.status_code == 502
    assert "number that is too large" in response.json()["error"]


def test_it_names_an_unexpected_exception_by_its_type_only(client, team, faulty_connector, caplog):
    step = {"key": "boom", "connector": "faulty", "action": "crash", "config": {}}
    automation = replying(team, "never", step)
    with caplog.at_level(logging.ERROR):
        response = post(client, automation, {})
    assert response.status_code == 502
    body = response.json()
    assert body["error"] == "Internal error in step 'boom': RuntimeError."
    assert "0xdeadbeef" not in response.content.decode()
    execution = Execution.objects.get(pk=body["execution_id"])
    run = execution.step_runs.get()
    assert (run.status, run.error) == (Status.FAILED, "Internal error: RuntimeError")
    assert any(r.exc_info and "0xdeadbeef" in str(r.exc_info[1]) for r in caplog.records)


def test_it_fails_a_queued_run_whose_step_crashes(
    client, team, faulty_connector, django_capture_on_commit_callbacks
):
    step = {"key": "boom", "connector": "faulty", "action": "crash", "config": {}}
    automation = http_automation(make_project(team), "Queued", [step])
    with django_capture_on_commit_callbacks(execute=True):
        response = post(client, automation, {})
    assert response.status_code == 202
    execution = Execution.objects.get()
    assert execution.status == Status.FAILED
    assert execution.error == "Internal error in step 'boom': RuntimeError."
    assert execution.step_runs.get().status == Status.FAILED


def test_it_fails_a_step_whose_secrets_cannot_be_decrypted(client, team):
    automation = replying(team, "hello")
    Step.objects.filter(automation=automation).update(secrets_encrypted="not-a-fernet-token")
    response = post(client, automation, {})
    assert response.status_code == 502
    assert "cannot be decrypted" in response.json()["error"]
    assert Execution.objects.get().step_runs.get().status == Status.FAILED


def test_it_fails_a_run_whose_automation_secrets_cannot_be_decrypted(team):
    automation = replying(team, "hello")
    type(automation).objects.filter(pk=automation.pk).update(secrets_encrypted="garbage")
    automation.refresh_from_db()
    execution = automation_run(automation=automation, payload={}, wait=True)
    execution = Execution.objects.get(pk=execution.pk)
    assert execution.status == Status.FAILED
    assert "cannot be decrypted" in execution.error


@pytest.fixture
def step_runs_refused():
    """The database refuses every step run (a trigger raising an error on insert)."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "CREATE FUNCTION refuse_rows() RETURNS trigger AS $$ BEGIN "
                "RAISE EXCEPTION 'refused'; END $$ LANGUAGE plpgsql"
            )
            cursor.execute(
                "CREATE TRIGGER refuse_step_runs BEFORE INSERT ON automations_steprun "
                "FOR EACH ROW EXECUTE FUNCTION refuse_rows()"
            )
        else:
            cursor.execute(
                "CREATE TRIGGER refuse_step_runs BEFORE INSERT ON automations_steprun "
                "BEGIN SELECT RAISE(ABORT, 'refused'); END"
            )
    yield
    with connection.cursor() as cursor:
        cursor.execute(
            "DROP TRIGGER refuse_step_runs ON automations_steprun"
            if connection.vendor == "postgresql"
            else "DROP TRIGGER refuse_step_runs"
        )
        if connection.vendor == "postgresql":
            cursor.execute("DROP FUNCTION refuse_rows()")


def test_it_writes_the_execution_failed_when_its_log_cannot_be_written(
    client, team, step_runs_refused
):
    automation = replying(team, "hello")
    response = post(client, automation, {})
    assert response.status_code == 502
    execution = Execution.objects.get(pk=response.json()["execution_id"])
    assert execution.status == Status.FAILED
    assert execution.error.startswith("The log could not be written: ")
    assert execution.finished_at is not None
