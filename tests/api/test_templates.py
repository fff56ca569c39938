from __future__ import annotations

import pytest

from automations import services
from automations.models import Automation
from tests.automations.factories import make_project
from tests.conftest import api_for

pytestmark = pytest.mark.django_db

UC1 = "translate_with_function_calling"


def test_templates_are_listed(api):
    rows = {row["key"]: row for row in api.get("/api/v1/templates/").json()}
    assert rows[UC1]["automations"] == [
        "German translator",
        "Word counter",
        "Translate via Function Calling",
    ]


def test_using_a_template_creates_its_automations_with_accounts_to_choose(api, team):
    project = make_project(team)
    response = api.post(f"/api/v1/templates/{UC1}/use/", {"project": project.pk}, format="json")
    assert response.status_code == 201, response.content
    created = {row["name"]: row for row in response.json()}
    main = created["Translate via Function Calling"]
    assert main["active"] is False and main["webhook_url"]
    assert [s["account"] for s in main["steps"]] == [None, None, None, None]
    automation = Automation.objects.get(pk=main["id"])
    with pytest.raises(Exception, match="is required"):
        services.automation_activate(automation=automation)


def test_a_template_can_take_the_account_at_once_and_names_stay_free(api, team, chatgpt_account):
    project = make_project(team)
    body = {"project": project.pk, "accounts": {"chatgpt": chatgpt_account.pk}}
    api.post(f"/api/v1/templates/{UC1}/use/", body, format="json")
    again = api.post(f"/api/v1/templates/{UC1}/use/", body, format="json").json()
    names = [row["name"] for row in again]
    assert names == [
        "German translator (2)",
        "Word counter (2)",
        "Translate via Function Calling (2)",
    ]
    main = again[2]
    assert main["steps"][0]["account"] == chatgpt_account.pk
    assert main["steps"][0]["config"]["sub_automations"] == [
        "German translator (2)",
        "Word counter (2)",
    ]
    for row in again:
        services.automation_activate(automation=Automation.objects.get(pk=row["id"]))


def test_the_word_counter_of_the_template_works(api, team):
    project = make_project(team)
    api.post(f"/api/v1/templates/{UC1}/use/", {"project": project.pk}, format="json")
    counter = Automation.objects.get(project=project, name="Word counter")
    services.automation_activate(automation=counter)
    execution = services.automation_run(
        automation=counter, payload={"text": "one two three"}, wait=True
    )
    assert execution.response["body"] == {"words": "3"}


def test_templates_refuse_another_teams_project_and_accounts(team, outsider, chatgpt_account):
    project = make_project(team)
    client = api_for(outsider)
    assert (
        client.post(
            f"/api/v1/templates/{UC1}/use/", {"project": project.pk}, format="json"
        ).status_code
        == 404
    )
    own = make_project(outsider.teams.get())
    body = {"project": own.pk, "accounts": {"chatgpt": chatgpt_account.pk}}
    assert client.post(f"/api/v1/templates/{UC1}/use/", body, format="json").status_code == 404
    assert (
        api_for(None)
        .post(f"/api/v1/templates/{UC1}/use/", {"project": own.pk}, format="json")
        .status_code
        == 401
    )


UC2 = "featured_image_with_dalle3"


def test_the_use_case_2_template_runs_once_accounts_are_chosen(
    api, team, chatgpt_account, contentstack_account, contentstack_standin, openai_standin
):
    project = make_project(team)
    body = {
        "project": project.pk,
        "accounts": {"chatgpt": chatgpt_account.pk, "contentstack": contentstack_account.pk},
    }
    (created,) = api.post(f"/api/v1/templates/{UC2}/use/", body, format="json").json()
    assert created["trigger"]["account"] == contentstack_account.pk
    automation = Automation.objects.get(pk=created["id"])
    services.automation_activate(automation=automation)
    entry = contentstack_standin.add_entry("blog_post", "Hello")
    payload = {"event": "create", "module": "entry", "api_key": contentstack_standin.api_key,
               "triggered_at": "2026-11-25T10:00:00Z", "content_type": {"uid": "blog_post"}, "branch": {"uid": "main"},
               "entry": entry, "locale": "en-us"}  # fmt: skip
    execution = services.automation_run(automation=automation, payload=payload, wait=True)
    assert execution.status == "succeeded", execution.error
    assert (
        contentstack_standin.entry("blog_post", entry["uid"])["featured_image"]
        in contentstack_standin.assets
    )
