"""Issue 8, item 2: no interface lets one team's automation use another team's account.

A staff user who administers team A must not be able to put team B's account into A's
trigger or step through the admin (choices, raw-id lookups and validation), the admin's
filters name only the user's teams, and a run never uses another team's account even
when a row in the database says so.
"""

from __future__ import annotations

import json
import re

import pytest

from accounts import services as account_services
from accounts.models import Role
from automations import services
from automations.models import Automation, Step
from tests.automations.factories import make_automation, make_project
from tests.security.staff import staff_client

pytestmark = pytest.mark.django_db

THEIR_KEY = "sk-theirs-0123456789abcdef"


def _chatgpt(team, title: str, key: str = "sk-ours-0123456789abcdef"):
    return account_services.account_create(
        team=team, connector="chatgpt", title=title, check=False,
        credentials={"api_key": key, "base_url": "http://127.0.0.1:9/v1"},
    )  # fmt: skip


@pytest.fixture
def ours(team):
    return _chatgpt(team, "Our ChatGPT")


@pytest.fixture
def theirs(other_team):
    return _chatgpt(other_team, "Their secret ChatGPT", THEIR_KEY)


@pytest.fixture
def team_admin(make_user, owner, team):
    user = make_user("adam")
    account_services.membership_set(actor=owner, team=team, user=user, role=Role.ADMIN)
    return user


def _change_data(automation: Automation, **fields) -> dict:
    data = {
        "project": automation.project_id, "name": automation.name, "description": "",
        "trigger_connector": "http", "trigger_key": "request",
        "trigger_config": '{"method": "POST"}', "trigger_conditions": "[]",
        "trigger_account": "", "steps-TOTAL_FORMS": "0", "steps-INITIAL_FORMS": "0",
        "steps-MIN_NUM_FORMS": "0", "steps-MAX_NUM_FORMS": "1000",
    }  # fmt: skip
    return {**data, **fields}


def _step_data(account_id: int) -> dict:
    return {
        "steps-TOTAL_FORMS": "1", "steps-0-position": "0", "steps-0-key": "ask",
        "steps-0-name": "", "steps-0-connector": "chatgpt", "steps-0-action": "prompt",
        "steps-0-account": str(account_id), "steps-0-config": '{"prompt": "Hi"}',
        "steps-0-max_attempts": "3",
    }  # fmt: skip


def test_it_refuses_another_teams_account_in_the_trigger_raw_id_field(team, team_admin, theirs):
    automation = make_automation(make_project(team))
    client = staff_client(team_admin)
    url = f"/admin/automations/automation/{automation.pk}/change/"
    response = client.post(url, _change_data(automation, trigger_account=theirs.pk))
    assert response.status_code == 200
    assert response.context["adminform"].form.errors["trigger_account"]
    assert theirs.title not in response.content.decode()
    automation.refresh_from_db()
    assert automation.trigger_account_id is None


def test_it_refuses_another_teams_account_in_a_steps_raw_id_field(team, team_admin, theirs):
    automation = make_automation(make_project(team))
    client = staff_client(team_admin)
    url = f"/admin/automations/automation/{automation.pk}/change/"
    response = client.post(url, _change_data(automation, **_step_data(theirs.pk)))
    assert response.status_code == 200
    assert response.context["inline_admin_formsets"][0].formset.errors[0]["account"]
    assert theirs.title not in response.content.decode()
    assert not Step.objects.filter(automation=automation).exists()


def test_it_accepts_the_teams_own_account_in_a_step(team, team_admin, ours):
    automation = make_automation(make_project(team))
    client = staff_client(team_admin)
    url = f"/admin/automations/automation/{automation.pk}/change/"
    response = client.post(url, _change_data(automation, **_step_data(ours.pk)))
    assert response.status_code == 302
    assert automation.steps.get().account == ours


def test_a_superuser_cannot_give_a_new_automation_another_teams_account(
    client, admin_user, team, theirs
):
    project = make_project(team)
    client.force_login(admin_user)
    new = Automation(project=project, name="New")
    data = _change_data(new, trigger_account=theirs.pk, **_step_data(theirs.pk))
    response = client.post("/admin/automations/automation/add/", data)
    assert response.status_code == 200
    form_errors = response.context["adminform"].form.errors
    # The API's validator (clean_definition) judges the admin's forms too.
    assert form_errors["trigger_account"] == [f"no account with id {theirs.pk} in this team"]
    step_errors = response.context["inline_admin_formsets"][0].formset.errors[0]
    assert step_errors["account"] == [f"no account with id {theirs.pk} in this team"]
    assert not Automation.objects.filter(name="New").exists()


def test_a_typed_id_that_is_not_a_number_is_a_form_error(team, team_admin):
    automation = make_automation(make_project(team))
    client = staff_client(team_admin)
    url = f"/admin/automations/automation/{automation.pk}/change/"
    response = client.post(url, _change_data(automation, trigger_account="1 OR 1=1"))
    assert response.status_code == 200
    assert response.context["adminform"].form.errors["trigger_account"]


def test_a_superuser_cannot_move_an_automation_to_another_teams_project(
    client, admin_user, team, other_team
):
    automation = make_automation(make_project(team))
    theirs = make_project(other_team)
    client.force_login(admin_user)
    url = f"/admin/automations/automation/{automation.pk}/change/"
    response = client.post(url, _change_data(automation, project=theirs.pk))
    assert response.status_code == 200
    assert response.context["adminform"].form.errors["project"]
    automation.refresh_from_db()
    assert automation.project.team == team


def test_the_account_lookup_popup_opens_on_the_automations_team_only(
    owner, team, other_team, outsider, team_admin, ours, theirs
):
    # Adam administers both teams; the popup opened from A's automation lists A's only.
    account_services.membership_set(
        actor=outsider, team=other_team, user=team_admin, role=Role.ADMIN
    )
    automation = make_automation(make_project(team))
    client = staff_client(team_admin)
    page = client.get(f"/admin/automations/automation/{automation.pk}/change/").content.decode()
    link = re.search(r'href="(/admin/accounts/connectedaccount/\?[^"]*)"', page).group(1)
    popup = client.get(link.replace("&amp;", "&") + "&_popup=1").content.decode()
    assert ours.title in popup
    assert theirs.title not in popup


def test_the_account_lookup_popup_never_lists_teams_the_user_does_not_administer(
    team, other_team, team_admin, ours, theirs
):
    client = staff_client(team_admin)
    for query in ("", f"team={other_team.pk}&"):
        popup = client.get(f"/admin/accounts/connectedaccount/?{query}_to_field=id&_popup=1")
        assert theirs.title not in popup.content.decode()


def test_the_team_filter_lists_only_the_users_teams(team, other_team, team_admin):
    make_project(team, "Ours")
    make_project(other_team, "Theirs")
    client = staff_client(team_admin)
    for page in ("automations/project", "automations/automation", "accounts/connectedaccount"):
        html = client.get(f"/admin/{page}/").content.decode()
        assert team.name in html, page
        assert other_team.name not in html, page


# -- a row that crosses teams anyway (written by hand, or by an older form) ---------------


def _hook_with_step(team, account) -> Automation:
    definition = {
        "name": "Ask",
        "trigger": {"connector": "http", "trigger": "request", "config": {"method": "POST"}},
        "steps": [
            {"key": "ask", "connector": "chatgpt", "action": "prompt", "account": account.pk,
             "config": {"model": "gpt-4o-mini", "prompt": "Hi"}},
            {"key": "reply", "connector": "response", "action": "respond",
             "config": {"body": "{{ steps.ask }}"}},
        ],
    }  # fmt: skip
    automation = services.automation_create(project=make_project(team), data=definition)
    return services.automation_activate(automation=automation)


def test_a_run_never_uses_another_teams_account_in_a_step(client, team, ours, theirs):
    automation = _hook_with_step(team, ours)
    Step.objects.filter(automation=automation, key="ask").update(account=theirs)
    response = client.post(f"/hooks/{automation.webhook_token}/", "{}", "application/json")
    assert response.status_code == 502
    body = response.content.decode()
    assert f"The account {theirs.pk} belongs to another team" in body
    assert theirs.title not in body and THEIR_KEY not in body


def test_a_webhook_never_uses_another_teams_account_in_the_trigger(client, team, ours, theirs):
    automation = _hook_with_step(team, ours)
    Automation.objects.filter(pk=automation.pk).update(trigger_account=theirs)
    response = client.post(f"/hooks/{automation.webhook_token}/", "{}", "application/json")
    assert response.status_code == 409
    assert f"The account {theirs.pk} belongs to another team" in response.json()["error"]
    assert automation.executions.count() == 0


def test_the_run_api_fails_the_step_that_names_another_teams_account(api, team, ours, theirs):
    automation = _hook_with_step(team, ours)
    Step.objects.filter(automation=automation, key="ask").update(account=theirs)
    response = api.post(f"/api/v1/automations/{automation.pk}/run/", {"wait": True}, format="json")
    run = response.json()
    assert run["status"] == "failed"
    assert "belongs to another team" in run["step_runs"][0]["error"]
    assert theirs.title not in json.dumps(run)


def test_an_export_does_not_name_another_teams_account(api, team, ours, theirs):
    automation = _hook_with_step(team, ours)
    Step.objects.filter(automation=automation, key="ask").update(account=theirs)
    response = api.get(f"/api/v1/automations/{automation.pk}/export/")
    assert response.status_code == 200
    assert theirs.title not in response.content.decode()
