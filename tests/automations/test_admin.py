from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from automations.models import Project
from tests.automations.factories import add_step, make_automation, make_execution, make_project

pytestmark = pytest.mark.django_db

PAGES = [
    "accounts/team",
    "accounts/membership",
    "accounts/invitation",
    "accounts/connectedaccount",
    "automations/project",
    "automations/automation",
    "automations/execution",
    "automations/steprun",
]


@pytest.fixture
def staff(client, admin_user):
    client.force_login(admin_user)
    return client


def _fill(team, count: int) -> None:
    project = make_project(team, name=f"P{count}")
    for n in range(count):
        automation = make_automation(project, name=f"A{n}")
        add_step(automation, "reply", "response", "respond", {"status": 200})
        make_execution(automation)


@pytest.mark.parametrize("page", PAGES)
def test_every_model_has_a_changelist(staff, team, page):
    _fill(team, 2)
    assert staff.get(f"/admin/{page}/").status_code == 200
    assert staff.get(f"/admin/{page}/add/").status_code in (200, 403)


@pytest.mark.parametrize("page", PAGES)
def test_changelists_do_not_query_per_row(staff, team, page):
    _fill(team, 2)
    with CaptureQueriesContext(connection) as few:
        staff.get(f"/admin/{page}/")
    _fill(team, 8)
    with CaptureQueriesContext(connection) as many:
        staff.get(f"/admin/{page}/")
    assert len(many) == len(few), [q["sql"] for q in many.captured_queries]


def test_execution_page_shows_its_step_runs_read_only(staff, team):
    automation = make_automation(make_project(team))
    execution = make_execution(automation, steps=3)
    html = staff.get(f"/admin/automations/execution/{execution.pk}/change/").content.decode()
    assert html.count("s0") >= 1 and "s2" in html
    assert 'name="step_runs-0-status"' not in html


def test_a_new_superuser_gets_a_team_to_work_in(client, django_user_model):
    boss = django_user_model.objects.create_superuser("boss", "boss@example.com", "pw")
    client.force_login(boss)
    html = client.get("/admin/automations/project/add/").content.decode()
    assert "boss&#x27;s team" in html
    team = boss.teams.get()
    response = client.post("/admin/automations/project/add/", {"team": team.pk, "name": "First"})
    assert response.status_code == 302
    assert Project.objects.get(name="First").team == team


def test_staff_who_are_not_superusers_see_only_their_teams(client, owner, team, other_team):
    make_project(team, "Ours")
    make_project(other_team, "Theirs")
    owner.is_staff = True
    owner.save()
    from django.contrib.auth.models import Permission

    owner.user_permissions.add(Permission.objects.get(codename="view_project"))
    client.force_login(owner)
    html = client.get("/admin/automations/project/").content.decode()
    assert "Ours" in html and "Theirs" not in html


def test_the_step_inline_checks_config_against_the_action(staff, team):
    automation = make_automation(make_project(team))
    data = {
        "project": automation.project_id, "name": "A", "description": "", "trigger_connector": "http",
        "trigger_key": "request", "trigger_config": '{"method": "POST"}', "trigger_conditions": "[]",
        "steps-TOTAL_FORMS": "1", "steps-INITIAL_FORMS": "0", "steps-MIN_NUM_FORMS": "0",
        "steps-MAX_NUM_FORMS": "1000", "steps-0-position": "0", "steps-0-key": "reply",
        "steps-0-name": "", "steps-0-connector": "response", "steps-0-action": "respond",
        "steps-0-config": '{"status": 900}', "steps-0-max_attempts": "3",
    }  # fmt: skip
    response = staff.post(f"/admin/automations/automation/{automation.pk}/change/", data)
    assert response.status_code == 200
    assert "status: must be a number between 200 and 599" in response.content.decode()
    data["steps-0-config"] = '{"status": 201}'
    response = staff.post(f"/admin/automations/automation/{automation.pk}/change/", data)
    assert response.status_code == 302
    assert automation.steps.get().config == {"status": 201}


def test_the_automation_form_checks_the_trigger(staff, team):
    automation = make_automation(make_project(team))
    data = {
        "project": automation.project_id, "name": "A", "description": "", "trigger_connector": "http",
        "trigger_key": "request", "trigger_config": '{"method": "FETCH"}',
        "trigger_conditions": '[{"path": "body.n", "operator": "greater_than", "value": "x"}]',
        "steps-TOTAL_FORMS": "0", "steps-INITIAL_FORMS": "0", "steps-MIN_NUM_FORMS": "0",
        "steps-MAX_NUM_FORMS": "1000",
    }  # fmt: skip
    html = staff.post(
        f"/admin/automations/automation/{automation.pk}/change/", data
    ).content.decode()
    assert "method: must be one of: GET, POST, ANY" in html
    assert "[0].value: must be a number for this operator" in html
