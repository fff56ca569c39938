"""The team's pages (issue 12 items 12, 13, 15, 16, 17): Automations grouped by
project, Executions, Accounts; each for a member, a viewer where it matters, another
team (404) and anonymous (sign in); list pages in a bounded number of queries."""

from __future__ import annotations

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from accounts import services as account_services
from accounts.models import AuditEvent, ConnectedAccount
from automations import services
from automations.models import Automation, Execution, Project, Status
from tests.automations.factories import add_step, make_automation, make_execution, make_project
from tests.support.flows import http_automation

pytestmark = pytest.mark.django_db


def run_of(automation, status=Status.SUCCEEDED, **extra):
    execution = make_execution(automation, **extra)
    Execution.objects.filter(pk=execution.pk).update(status=status)
    execution.status = status
    return execution


@pytest.fixture
def member(client, owner, team):
    client.force_login(owner)
    return client


@pytest.fixture
def echo(team):
    return http_automation(make_project(team, "Translations"), "Echo", [
        {"key": "reply", "connector": "response", "action": "respond",
         "config": {"body": "{{ trigger.body.text }}"}},
    ], active=False)  # fmt: skip


# Navigation


def test_every_page_links_to_the_teams_pages(member, team):
    page = member.get("/").content.decode()
    for link in ('href="/executions/"', 'href="/accounts/"', 'href="/api/docs/"',
                 f'href="/teams/{team.slug}/"', 'href="/profile/"', "Sign out"):  # fmt: skip
        assert link in page


# Automations page


def test_it_groups_automations_by_project_with_their_last_run(member, team, echo):
    other = make_automation(make_project(team, "Images"), "Featured image")
    run_of(echo, Status.FAILED)
    page = member.get("/").content.decode()
    assert page.index("Images") < page.index("Featured image") < page.index("Translations")
    assert "HTTP · HTTP request" in page
    assert f'href="/executions/{echo.executions.get().pk}/"' in page and "failed" in page
    assert other.name in page and "never" in page


def test_the_automations_page_takes_a_bounded_number_of_queries(
    member, team, django_assert_max_num_queries
):
    for n in range(25):
        automation = make_automation(make_project(team, f"P{n % 5}") if n < 5 else
                                     Project.objects.get(team=team, name=f"P{n % 5}"), f"A{n}")  # fmt: skip
        make_execution(automation)
    with django_assert_max_num_queries(15):
        assert member.get("/").status_code == 200


def test_it_renames_an_automation(member, echo):
    response = member.post(f"/automations/{echo.pk}/rename/", {"name": "Echo two"})
    assert response.status_code == 302
    assert Automation.objects.get(pk=echo.pk).name == "Echo two"


def test_a_rename_to_a_taken_name_is_refused_in_words(member, team, echo):
    make_automation(echo.project, "Taken")
    page = member.post(f"/automations/{echo.pk}/rename/", {"name": "Taken"}, follow=True)
    assert "already has an automation named" in page.content.decode()
    assert Automation.objects.get(pk=echo.pk).name == "Echo"


def test_it_clones_an_automation_inactive(member, echo):
    services.automation_activate(automation=echo)
    member.post(f"/automations/{echo.pk}/clone/")
    copy = Automation.objects.get(name="Echo (copy)")
    assert not copy.active and [s.key for s in copy.steps.all()] == ["reply"]
    member.post(f"/automations/{echo.pk}/clone/")
    assert Automation.objects.filter(name="Echo (copy 2)").exists()


def test_it_exports_a_document_to_download(member, echo):
    response = member.get(f"/automations/{echo.pk}/export/")
    assert response["Content-Disposition"] == 'attachment; filename="echo.json"'
    assert response.json()["format"] == "switchboard/automation@1"


def test_an_exported_document_imports_again(member, team, echo):
    document = member.get(f"/automations/{echo.pk}/export/").content
    upload = SimpleUploadedFile("echo.json", document.replace(b'"Echo"', b'"Echo again"'))
    response = member.post("/automations/import/", {
        "team": team.slug, "project_name": "Imported", "document": upload})  # fmt: skip
    imported = Automation.objects.get(name="Echo again")
    assert response["Location"] == f"/automations/{imported.pk}/"
    assert imported.project.name == "Imported"


def test_import_errors_name_their_paths(member, team):
    document = {"format": "switchboard/automation@1", "name": "Broken",
                "trigger": {"connector": "http", "trigger": "request", "config": {}},
                "steps": [{"key": "reply", "connector": "response", "action": "nope",
                           "config": {}}]}  # fmt: skip
    upload = SimpleUploadedFile("broken.json", json.dumps(document).encode())
    response = member.post("/automations/import/", {"team": team.slug, "document": upload})
    assert response.status_code == 400
    assert "steps[0].action" in response.content.decode()
    assert not Automation.objects.filter(name="Broken").exists()


def test_an_import_that_is_not_json_says_where(member, team):
    upload = SimpleUploadedFile("bad.json", b'{"format": ')
    page = member.post("/automations/import/", {"team": team.slug, "document": upload})
    assert "not valid JSON (Expecting value at line 1 column 12)" in page.content.decode()


def test_activate_from_the_automations_page_comes_back_to_it(member, echo):
    response = member.post(f"/automations/{echo.pk}/activate/", {"next": "/"})
    assert response["Location"] == "/"
    assert Automation.objects.get(pk=echo.pk).active


def test_projects_are_created_renamed_and_deleted_when_empty(member, team, echo):
    member.post("/projects/new/", {"team": team.slug, "name": "Drafts"})
    drafts = Project.objects.get(team=team, name="Drafts")
    member.post(f"/projects/{drafts.pk}/rename/", {"name": "Ideas"})
    assert Project.objects.get(pk=drafts.pk).name == "Ideas"
    member.post(f"/projects/{drafts.pk}/delete/")
    assert not Project.objects.filter(pk=drafts.pk).exists()


def test_a_project_with_automations_is_not_deleted(member, echo):
    page = member.post(f"/projects/{echo.project_id}/delete/", follow=True).content.decode()
    assert "still has 1 automation" in page
    assert Project.objects.filter(pk=echo.project_id).exists()


def test_a_template_says_what_it_made_and_what_is_left(member, team):
    page = member.post("/automations/new/", {
        "team": team.slug, "project_name": "Translations",
        "template": "translate_with_function_calling"}, follow=True).content.decode()  # fmt: skip
    assert "and its sub automations &#x27;German translator&#x27;, &#x27;Word counter&#x27;" in page
    assert "choose a ChatGPT account in step 1 (Function Calling)" in page
    assert "German translator: choose a ChatGPT account in step 1 (Translate)" in page


def test_a_viewer_sees_the_automations_but_no_changes(client, viewer, echo):
    client.force_login(viewer)
    page = client.get("/").content.decode()
    assert "Echo" in page and "Rename" not in page and "Clone" not in page
    assert client.post(f"/automations/{echo.pk}/rename/", {"name": "X"}).status_code == 403
    assert client.post(f"/automations/{echo.pk}/clone/").status_code == 403
    assert client.post(f"/projects/{echo.project_id}/rename/", {"name": "X"}).status_code == 403
    assert client.get(f"/automations/{echo.pk}/export/").status_code == 200


def test_another_team_cannot_touch_the_automations(client, outsider, echo):
    client.force_login(outsider)
    assert "Echo" not in client.get("/").content.decode()
    for url in (f"/automations/{echo.pk}/rename/", f"/automations/{echo.pk}/clone/",
                f"/projects/{echo.project_id}/rename/", f"/projects/{echo.project_id}/delete/"):  # fmt: skip
        assert client.post(url, {"name": "X"}).status_code == 404
    assert client.get(f"/automations/{echo.pk}/export/").status_code == 404
    upload = SimpleUploadedFile("e.json", b"{}")
    team = echo.project.team
    assert (
        client.post("/automations/import/", {"team": team.slug, "document": upload}).status_code
        == 404
    )
    assert Automation.objects.get(pk=echo.pk).name == "Echo"


def test_anonymous_is_sent_to_sign_in_from_every_page(client, echo):
    for url in ("/", "/executions/", "/accounts/", f"/automations/{echo.pk}/export/",
                "/accounts/new/chatgpt/"):  # fmt: skip
        response = client.get(url)
        assert response.status_code == 302 and "/login/" in response["Location"], url


# Executions


def test_the_executions_list_filters_and_is_newest_first(member, team, echo):
    other = make_automation(echo.project, "Other")
    first = run_of(echo, Status.FAILED)
    second = run_of(echo, Status.SUCCEEDED, is_test=True)
    make_execution(other)
    page = member.get("/executions/", {"automation": echo.pk}).content.decode()
    assert page.index(f"/executions/{second.pk}/") < page.index(f"/executions/{first.pk}/")
    assert "Other" not in page.split("<tbody>")[1]
    failed = member.get("/executions/", {"status": "failed"}).content.decode()
    assert f"/executions/{first.pk}/" in failed and f"/executions/{second.pk}/" not in failed
    live = member.get("/executions/", {"kind": "live"}).content.decode()
    assert f"/executions/{second.pk}/" not in live


def test_the_executions_list_filters_by_date(member, echo):
    old = make_execution(echo)
    Execution.objects.filter(pk=old.pk).update(created_at="2020-01-01T10:00:00Z")
    new = make_execution(echo)
    page = member.get("/executions/", {"since": "2021-01-01"}).content.decode()
    assert f"/executions/{new.pk}/" in page and f"/executions/{old.pk}/" not in page
    page = member.get("/executions/", {"until": "2020-01-01"}).content.decode()
    assert f"/executions/{old.pk}/" in page and f"/executions/{new.pk}/" not in page


def test_the_executions_list_pages_by_cursor_without_counting(member, echo):
    made = [make_execution(echo, steps=0).pk for _ in range(55)]
    first = member.get("/executions/", {"automation": echo.pk})
    page = first.content.decode()
    assert "Older →" in page and "Page 1 of" not in page and "← Newer" not in page
    assert f"/executions/{made[-1]}/" in page and f"/executions/{made[4]}/" not in page
    older = first.context["page"].older
    page = member.get("/executions/", {"automation": echo.pk, "before": older}).content.decode()
    assert all(f"/executions/{pk}/" in page for pk in made[:5])
    assert "← Newer" in page and "Older →" not in page and f"automation={echo.pk}" in page


def test_the_executions_list_takes_a_bounded_number_of_queries(
    member, team, django_assert_max_num_queries
):
    for n in range(25):
        make_execution(make_automation(make_project(team), f"A{n}"))
    with django_assert_max_num_queries(12):
        assert member.get("/executions/").status_code == 200


def test_another_team_sees_none_of_the_executions(client, outsider, echo):
    execution = make_execution(echo)
    client.force_login(outsider)
    assert f"/executions/{execution.pk}/" not in client.get("/executions/").content.decode()
    assert client.get(f"/executions/{execution.pk}/").status_code == 404


def test_a_viewer_reads_the_executions(client, viewer, echo):
    execution = make_execution(echo)
    client.force_login(viewer)
    assert f"/executions/{execution.pk}/" in client.get("/executions/").content.decode()


def test_a_running_execution_page_polls_and_a_finished_one_does_not(member, echo):
    running = run_of(echo, Status.RUNNING, trigger_output={"body": {"t": 1}})
    page = member.get(f"/executions/{running.pk}/").content.decode()
    assert 'hx-trigger="every 2s"' in page and 'hx-select="#execution-live"' in page
    assert 'data-copy="#trigger-input"' in page
    done = make_execution(echo)
    assert "every 2s" not in member.get(f"/executions/{done.pk}/").content.decode()


def test_times_show_seconds_and_the_time_zone(member, echo, settings):
    execution = make_execution(echo)
    Execution.objects.filter(pk=execution.pk).update(created_at="2026-03-01T10:11:12Z")
    settings.TIME_ZONE = "Europe/Berlin"
    page = member.get("/executions/").content.decode()
    assert "2026-03-01 11:11:12 CET" in page


# Accounts


def test_the_accounts_page_says_where_each_account_is_used(member, team, chatgpt_account, echo):
    add_step(echo, "ask", "chatgpt", "chat", {}, account=chatgpt_account, name="Ask")
    page = member.get("/accounts/").content.decode()
    assert "ChatGPT" in page and "Echo" in page and "step 2 (Ask)" in page


def test_the_accounts_page_takes_a_bounded_number_of_queries(
    member, team, django_assert_max_num_queries
):
    project = make_project(team)
    for n in range(25):
        account = ConnectedAccount.objects.create(team=team, connector="chatgpt", title=f"A{n}")
        automation = make_automation(project, f"A{n}", trigger_account=None)
        add_step(automation, "ask", "chatgpt", "chat", {}, account=account)
    with django_assert_max_num_queries(12):
        assert member.get("/accounts/").status_code == 200


def test_an_admin_renames_an_account(member, chatgpt_account):
    member.post(f"/accounts/{chatgpt_account.pk}/", {"title": "Work GPT"})
    chatgpt_account.refresh_from_db()
    assert chatgpt_account.title == "Work GPT"
    assert chatgpt_account.credentials()["organization_id"] == "org-standin"


def test_re_entering_a_secret_replaces_it(member, chatgpt_account, openai_standin):
    old_hint = chatgpt_account.hint
    openai_standin.api_key = "sk-standin-new-key-000"
    response = member.post(f"/accounts/{chatgpt_account.pk}/", {
        "title": "ChatGPT", "api_key": "sk-standin-new-key-000"})  # fmt: skip
    assert response.status_code == 302, response.content.decode()
    chatgpt_account.refresh_from_db()
    assert chatgpt_account.credentials()["api_key"] == "sk-standin-new-key-000"
    assert chatgpt_account.hint != old_hint


def test_a_new_base_url_needs_the_secret_again(member, chatgpt_account):
    response = member.post(f"/accounts/{chatgpt_account.pk}/", {
        "title": "ChatGPT", "base_url": "https://attacker.example/v1"})  # fmt: skip
    assert response.status_code == 400
    assert "Enter the API Key again" in response.content.decode()
    chatgpt_account.refresh_from_db()
    assert chatgpt_account.credentials()["base_url"] != "https://attacker.example/v1"


def test_the_edit_page_never_shows_a_secret(member, chatgpt_account, openai_standin):
    page = member.get(f"/accounts/{chatgpt_account.pk}/").content.decode()
    assert openai_standin.api_key not in page
    assert openai_standin.api_key not in member.get("/accounts/").content.decode()


def test_an_unused_account_is_deleted(member, chatgpt_account):
    assert "Delete the account ChatGPT?" in member.get(
        f"/accounts/{chatgpt_account.pk}/delete/").content.decode()  # fmt: skip
    member.post(f"/accounts/{chatgpt_account.pk}/delete/")
    assert not ConnectedAccount.objects.filter(pk=chatgpt_account.pk).exists()


def test_deleting_a_used_account_names_what_loses_it_then_switches_them_off(
    member, team, chatgpt_account
):
    automation = http_automation(make_project(team), "Asker", [
        {"key": "ask", "connector": "chatgpt", "action": "chat", "account": chatgpt_account.pk,
         "config": {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]}},
    ])  # fmt: skip
    page = member.get(f"/accounts/{chatgpt_account.pk}/delete/").content.decode()
    assert "Asker" in page and "(active)" in page
    member.post(f"/accounts/{chatgpt_account.pk}/delete/")
    automation.refresh_from_db()
    assert not automation.active
    assert automation.steps.get().account_id is None
    assert not ConnectedAccount.objects.filter(pk=chatgpt_account.pk).exists()
    assert AuditEvent.objects.filter(kind="account.deleted").exists()


def test_an_editor_reads_account_titles_but_cannot_change_them(client, teammate, chatgpt_account):
    client.force_login(teammate)
    page = client.get("/accounts/").content.decode()
    assert "ChatGPT" in page and "Rename or re-enter" not in page
    assert client.get(f"/accounts/{chatgpt_account.pk}/").status_code == 403
    assert client.post(f"/accounts/{chatgpt_account.pk}/", {"title": "X"}).status_code == 403
    assert client.post(f"/accounts/{chatgpt_account.pk}/delete/").status_code == 403
    assert client.get("/accounts/new/chatgpt/").status_code == 403
    assert ConnectedAccount.objects.get(pk=chatgpt_account.pk).title == "ChatGPT"


def test_a_viewer_reads_account_titles(client, viewer, chatgpt_account):
    client.force_login(viewer)
    assert "ChatGPT" in client.get("/accounts/").content.decode()
    assert client.post(f"/accounts/{chatgpt_account.pk}/delete/").status_code == 403


def test_another_team_cannot_see_or_change_the_accounts(client, outsider, chatgpt_account):
    client.force_login(outsider)
    assert "<strong>ChatGPT</strong>" not in client.get("/accounts/").content.decode()
    assert client.get(f"/accounts/{chatgpt_account.pk}/").status_code == 404
    assert client.post(f"/accounts/{chatgpt_account.pk}/delete/").status_code == 404
    assert ConnectedAccount.objects.filter(pk=chatgpt_account.pk).exists()


def test_an_account_added_for_a_step_is_chosen_in_it(member, team, echo, openai_standin):
    ConnectedAccount.objects.create(team=team, connector="chatgpt", title="Other")
    step_url = f"/automations/{echo.pk}/steps/new/?connector=chatgpt&action=chat"
    response = member.post(f"/accounts/new/chatgpt/?next={step_url.replace('&', '%26')}", {
        "title": "Fresh", "api_key": openai_standin.api_key, "organization_id": "org-standin",
        "base_url": openai_standin.base_url})  # fmt: skip
    fresh = ConnectedAccount.objects.get(title="Fresh")
    assert response["Location"] == f"{step_url}&account={fresh.pk}"
    page = member.get(response["Location"]).content.decode()
    assert f'<option value="{fresh.pk}" selected>' in page


def test_a_connectors_only_account_is_preselected(member, echo, chatgpt_account):
    page = member.get(
        f"/automations/{echo.pk}/steps/new/?connector=chatgpt&action=chat"
    ).content.decode()
    assert f'<option value="{chatgpt_account.pk}" selected>' in page


def test_the_audit_log_takes_a_bounded_number_of_queries(
    member, owner, team, django_assert_max_num_queries
):
    for n in range(25):
        account_services.team_rename(actor=owner, team=team, name=f"Acme {n}")
    with django_assert_max_num_queries(12):
        assert member.get(f"/teams/{team.slug}/audit/").status_code == 200


def test_every_page_names_a_status_by_its_label(member, echo):
    timed_out = run_of(echo, Status.TIMED_OUT)
    pages = [
        member.get("/").content.decode(),
        member.get("/executions/").content.decode(),
        member.get(f"/automations/{echo.pk}/executions/").content.decode(),
        member.get(f"/executions/{timed_out.pk}/").content.decode(),
    ]
    for page in pages:
        assert "Timed out</" in page
        assert ">timed_out<" not in page
        assert 'rel="icon" href="/static/automations/favicon.svg"' in page


def test_a_page_reads_the_membership_once(member, echo):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    run_of(echo)
    with CaptureQueriesContext(connection) as queries:
        page = member.get("/executions/").content.decode()
    reads = [q["sql"] for q in queries.captured_queries if "accounts_membership" in q["sql"]]
    # The current team (the last used), the role in it and the team switcher's list: the
    # navigation shows the role the view read, without reading it again.
    assert len(reads) == 3, reads
    assert "· owner" in page
    assert f'href="/automations/{echo.pk}/"' in page


def test_the_automations_path_leads_to_the_dashboard(member):
    response = member.get("/automations/")
    assert response.status_code == 302 and response["Location"] == "/"


def test_a_missing_page_answers_404_inside_the_site_layout(member, other_team):
    someone_elses = http_automation(make_project(other_team), "Theirs", [])
    for path in ("/no/such/page/", f"/automations/{someone_elses.pk}/"):
        response = member.get(path)
        assert response.status_code == 404
        page = response.content.decode()
        assert "There is nothing at this address" in page
        assert "Theirs" not in page and "Sign out" in page  # the member's own header


def test_the_500_page_renders_without_a_request():
    from django.template.loader import render_to_string

    page = render_to_string("500.html")
    assert "Something went wrong on our side" in page and 'href="/"' in page
