"""The wizard, clicked through with the test client as a user would, and its access
rules for a member, a member of another team and an anonymous visitor."""

from __future__ import annotations

import json

import pytest
from django.test import Client

from automations import services
from automations.models import Automation, Execution, Status
from tests.automations.factories import make_project
from tests.support.flows import http_automation

pytestmark = pytest.mark.django_db


@pytest.fixture
def member(client, owner, team):
    client.force_login(owner)
    return client


@pytest.fixture
def automation(team):
    return http_automation(make_project(team), "Echo", [
        {"key": "reply", "name": "Reply", "connector": "response", "action": "respond",
         "config": {"body": "{{ trigger.body.text }}"}}], active=False)  # fmt: skip


PAGES = [
    ("get", "/automations/{pk}/"),
    ("get", "/automations/{pk}/trigger/"),
    ("get", "/automations/{pk}/steps/new/"),
    ("get", "/automations/{pk}/steps/reply/"),
    ("get", "/automations/{pk}/executions/"),
    ("post", "/automations/{pk}/trigger/test/"),
    ("post", "/automations/{pk}/steps/reply/test/"),
    ("post", "/automations/{pk}/activate/"),
    ("get", "/automations/{pk}/accounts/chatgpt/new/"),
]


@pytest.mark.parametrize("method, url", PAGES)
def test_a_member_can_open_it(member, automation, method, url):
    response = getattr(member, method)(url.format(pk=automation.pk))
    assert response.status_code in (200, 302)


@pytest.mark.parametrize("method, url", PAGES)
def test_a_member_of_another_team_gets_404(client, outsider, automation, method, url):
    client.force_login(outsider)
    assert getattr(client, method)(url.format(pk=automation.pk)).status_code == 404


@pytest.mark.parametrize("method, url", [*PAGES, ("get", "/")])
def test_an_anonymous_visitor_is_sent_to_sign_in(client, automation, method, url):
    response = getattr(client, method)(url.format(pk=automation.pk))
    assert response.status_code == 302 and response["Location"].startswith("/login/")


def test_a_viewer_cannot_change_anything(client, viewer, automation):
    client.force_login(viewer)
    assert client.get(f"/automations/{automation.pk}/").status_code == 200
    assert client.post(f"/automations/{automation.pk}/activate/").status_code == 403
    assert (
        client.post(
            f"/automations/{automation.pk}/trigger/", {"connector": "http", "trigger": "request"}
        ).status_code
        == 403
    )


def test_an_execution_page_is_for_its_team_only(client, member, outsider, automation):
    execution = services.automation_run(
        automation=automation, payload={"body": {"text": "hi"}}, wait=True
    )
    assert member.get(f"/executions/{execution.pk}/").status_code == 200
    client.force_login(outsider)
    assert client.get(f"/executions/{execution.pk}/").status_code == 404


def test_a_form_with_an_error_keeps_what_was_typed(member, automation):
    before = automation.steps.get().config
    response = member.post(f"/automations/{automation.pk}/steps/reply/", {
        "connector": "response", "action": "respond", "name": "Reply", "status": "700", "body": "kept text",
    })  # fmt: skip
    html = response.content.decode()
    assert "must be a number between 200 and 599" in html
    assert "kept text" in html and 'value="700"' in html
    assert automation.steps.get().config == before


def test_use_case_1_clicked_through(member, team, owner, openai_standin, client):
    # Dashboard -> New automation (template left empty).
    response = member.post(
        "/automations/new/",
        {"team": team.slug, "project_name": "Translations", "name": "Translate"},
    )
    automation = Automation.objects.get(name="Translate")
    assert response["Location"] == f"/automations/{automation.pk}/"
    project = automation.project
    # Two sub automations, made the same way and configured in the wizard.
    for name, description in (
        ("German translator", "Translates text into German."),
        ("Word counter", "Counts words."),
    ):
        member.post(
            "/automations/new/", {"team": team.slug, "project_name": "Translations", "name": name}
        )
        sub = Automation.objects.get(project=project, name=name)
        member.post(f"/automations/{sub.pk}/trigger/", {
            "connector": "sub_automation", "trigger": "called", "description": description,
            "schema": json.dumps([{"key": "text", "type": "string", "required": True, "description": "Text"}])})  # fmt: skip
        member.post(f"/automations/{sub.pk}/steps/new/", {
            "connector": "response", "action": "respond", "name": "Response", "body": "Hallo {{ trigger.text }}"})  # fmt: skip
        assert member.post(f"/automations/{sub.pk}/activate/").status_code == 302

    # Configure Trigger: HTTP, POST, Proceed, Test Trigger.
    page = member.post(
        f"/automations/{automation.pk}/trigger/",
        {"connector": "http", "trigger": "request", "method": "POST"},
        follow=True,
    )
    assert "Saved." in page.content.decode() and "Webhook URL" in page.content.decode()
    assert (
        "Hello, world"
        in member.post(f"/automations/{automation.pk}/trigger/test/").content.decode()
    )

    # + Add New Account (Authorize) from the ChatGPT step.
    response = member.post(f"/automations/{automation.pk}/accounts/chatgpt/new/?next=/automations/{automation.pk}/", {
        "title": "My ChatGPT", "api_key": openai_standin.api_key, "organization_id": "org-standin",
        "base_url": openai_standin.base_url})  # fmt: skip
    assert response.status_code == 302
    account = team.accounts.get(title="My ChatGPT")

    def add_step(values):
        page = member.post(f"/automations/{automation.pk}/steps/new/", values, follow=True)
        assert "Saved." in page.content.decode(), page.content.decode()[-3000:]
        return automation.steps.order_by("-position").first()

    openai_standin.tool_to_call = "German_translator"
    fc = add_step({"connector": "chatgpt", "action": "function_calling", "name": "Function Calling",
                   "account": account.pk, "model": "gpt-4o-mini",
                   "messages": json.dumps([{"role": "user", "content": "Translate to German language: {{ trigger.body.text }}"}]),
                   "sub_automations": json.dumps(["German translator", "Word counter"])})  # fmt: skip
    assert (
        "German translator"
        in member.post(f"/automations/{automation.pk}/steps/{fc.key}/test/").content.decode()
    )
    sub = add_step({"connector": "sub_automation", "action": "run", "name": "Sub Automation",
                    "sub_automation": "{{ steps.function_calling.function_name }}",
                    "arguments": "{{ steps.function_calling.arguments }}"})  # fmt: skip
    suggestions = member.get(f"/automations/{automation.pk}/steps/{sub.key}/").content.decode()
    assert "{{ steps.function_calling.function_name }}" in suggestions
    assert (
        "Hallo"
        in member.post(f"/automations/{automation.pk}/steps/{sub.key}/test/").content.decode()
    )
    final = add_step({"connector": "chatgpt", "action": "function_calling_response", "name": "Function Calling Response",
                      "account": account.pk, "model": "gpt-4o-mini", "function_calling": "{{ steps.function_calling }}",
                      "sub_automation_response": "{{ steps.sub_automation }}"})  # fmt: skip
    member.post(f"/automations/{automation.pk}/steps/{final.key}/test/")
    add_step({"connector": "response", "action": "respond", "name": "Response", "status": "200",
              "body": "{{ steps.function_calling_response.content }}"})  # fmt: skip
    assert member.post(f"/automations/{automation.pk}/activate/").status_code == 302

    # The caller gets the translated string.
    automation.refresh_from_db()
    response = client.post(
        f"/hooks/{automation.webhook_token}/",
        {"text": "Good morning"},
        content_type="application/json",
    )
    assert response.status_code == 200, response.content
    assert response.content.decode().startswith("Final: ")
    execution = Execution.objects.filter(automation=automation, is_test=False).get()
    assert execution.status == Status.SUCCEEDED
    assert (
        "Function Calling Response" in member.get(f"/automations/{automation.pk}/").content.decode()
    )
    assert member.get(f"/executions/{execution.pk}/").status_code == 200


@pytest.mark.parametrize(
    "next_url", ["https://evil.example/", "//evil.example/", "/\\evil.example/"]
)
def test_add_new_account_never_redirects_off_site(member, automation, openai_standin, next_url):
    response = member.post(f"/automations/{automation.pk}/accounts/chatgpt/new/?next={next_url}", {
        "title": f"GPT {len(next_url)}", "api_key": openai_standin.api_key, "organization_id": "org-standin",
        "base_url": openai_standin.base_url})  # fmt: skip
    assert response.status_code == 302
    # Back on this site, told which account was added (it is then chosen).
    assert response["Location"].startswith(f"/automations/{automation.pk}/?account=")


def test_add_new_account_shows_a_rejected_key_beside_its_field(member, automation, openai_standin):
    response = member.post(f"/automations/{automation.pk}/accounts/chatgpt/new/", {
        "title": "Bad", "api_key": "sk-wrong-000000", "organization_id": "org-standin",
        "base_url": openai_standin.base_url})  # fmt: skip
    html = response.content.decode()
    assert response.status_code == 400 and "Incorrect API key" in html
    assert 'value="Bad"' in html and "sk-wrong-000000" not in html


def test_a_trigger_secret_typed_in_the_wizard_is_never_shown_again(member, automation):
    url = f"/automations/{automation.pk}/trigger/"
    page = member.post(
        url,
        {"connector": "http", "trigger": "request", "method": "POST", "secret": "hook-secret-4321"},
        follow=True,
    )
    assert "Saved." in page.content.decode() and "hook-secret-4321" not in page.content.decode()
    automation.refresh_from_db()
    assert automation.get_secrets() == {"secret": "hook-secret-4321"}
    again = member.get(url).content.decode()
    assert "hook-secret-4321" not in again and "Leave blank to keep it." in again
    member.post(url, {"connector": "http", "trigger": "request", "method": "ANY", "secret": ""})
    automation.refresh_from_db()
    assert automation.get_secrets() == {"secret": "hook-secret-4321"}


def test_a_failed_execution_can_be_retried_from_its_page(
    member, client, viewer, automation, django_capture_on_commit_callbacks
):
    execution = services.automation_run(automation=automation, payload={"body": {}}, wait=True)
    assert execution.status == Status.FAILED
    page = member.get(f"/executions/{execution.pk}/").content.decode()
    assert "Retry from the failed step" in page
    other = Client()
    other.force_login(viewer)
    assert other.post(f"/executions/{execution.pk}/retry/").status_code == 403
    with django_capture_on_commit_callbacks(execute=True):
        response = member.post(f"/executions/{execution.pk}/retry/")
    assert response.status_code == 302, response.content
    retry = Execution.objects.get(retry_of=execution)
    assert response["Location"] == f"/executions/{retry.pk}/"


def test_lookup_fields_fetch_live_choices_with_the_chosen_account(
    member, client, outsider, team, contentstack_account, contentstack_standin
):
    automation = http_automation(make_project(team), "Lookups", [], active=False)
    page = member.get(
        f"/automations/{automation.pk}/steps/new/?connector=contentstack&action=update_entry"
    ).content.decode()
    assert f'hx-get="/automations/{automation.pk}/lookup/contentstack/content_types/"' in page
    assert 'datalist id="lookup-content_type"' in page
    contentstack_standin.add_entry("blog_post", "Spring gardening")
    url = f"/automations/{automation.pk}/lookup/contentstack/"
    options = member.get(
        url + "entries/", {"account": contentstack_account.pk, "content_type": "blog_post"}
    ).content.decode()
    assert "Spring gardening" in options
    assert "Choose an account first." in member.get(url + "content_types/").content.decode()
    assert (
        "Choose a content type first."
        in member.get(url + "entries/", {"account": contentstack_account.pk}).content.decode()
    )
    other = Client()
    other.force_login(outsider)
    assert other.get(url + "entries/", {"account": contentstack_account.pk}).status_code == 404


def test_prompt_rows_are_added_removed_and_saved(member, team, chatgpt_account):
    automation = http_automation(make_project(team), "Rows", [], active=False)
    url = f"/automations/{automation.pk}/steps/new/"
    page = member.get(url + "?connector=chatgpt&action=chat").content.decode()
    assert "+ Add Prompt Text" in page and 'name="messages__0__role"' in page
    typed = {"connector": "chatgpt", "action": "chat", "name": "Chat", "account": chatgpt_account.pk,
             "model": "gpt-4o-mini", "messages__0__role": "system", "messages__0__content": "Be brief."}  # fmt: skip
    page = member.post(url, {**typed, "add_row": "messages"}).content.decode()
    assert 'name="messages__1__content"' in page and "Be brief." in page
    assert not automation.steps.exists()
    typed.update({"messages__1__role": "user", "messages__1__content": "{{ trigger.body.text }}",
                  "messages__2__role": "user", "messages__2__content": "drop me"})  # fmt: skip
    page = member.post(url, {**typed, "remove_row": "messages:2"}).content.decode()
    assert "drop me" not in page and "{{ trigger.body.text }}" in page
    typed.pop("messages__2__role")
    typed.pop("messages__2__content")
    assert "Saved." in member.post(url, typed, follow=True).content.decode()
    assert automation.steps.get().config["messages"] == [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "{{ trigger.body.text }}"},
    ]
