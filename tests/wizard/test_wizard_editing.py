"""The wizard's editing views (issue 12): a saved step is edited in place, reloads never
post again, deletes ask first, reorders keep references valid, lookups never send a
reference, and messages are in the user's words."""

from __future__ import annotations

import pytest

from automations import services
from automations.models import Automation
from tests.automations.factories import make_project
from tests.support.flows import http_automation, reply_step, sub_automation

pytestmark = pytest.mark.django_db


@pytest.fixture
def member(client, owner, team):
    client.force_login(owner)
    return client


@pytest.fixture
def automation(team):
    return http_automation(make_project(team), "Echo", [
        {"key": "first", "name": "First", "connector": "response", "action": "respond",
         "config": {"body": "{{ trigger.body.text }}"}},
        {"key": "second", "name": "Second", "connector": "response", "action": "respond",
         "config": {"body": "{{ steps.first }}"}},
    ], active=False)  # fmt: skip


def respond(body: str, **extra) -> dict:
    return {
        "connector": "response",
        "action": "respond",
        "name": "Translate",
        "body": body,
        **extra,
    }


def test_it_edits_the_saved_step_after_an_htmx_proceed(member, automation):
    url = f"/automations/{automation.pk}/steps/new/"
    page = member.post(url, respond("a"), headers={"HX-Request": "true"})
    html = page.content.decode()
    assert page["HX-Replace-Url"] == f"/automations/{automation.pk}/steps/translate/"
    assert f'hx-post="/automations/{automation.pk}/steps/translate/"' in html
    assert 'id="step-list"' in html and 'hx-swap-oob="true"' in html
    member.post(page["HX-Replace-Url"], respond("b"), headers={"HX-Request": "true"})
    assert [s.key for s in automation.steps.all()] == ["first", "second", "translate"]
    assert automation.steps.get(key="translate").config["body"] == "b"


def test_it_redirects_a_plain_proceed_so_a_reload_never_posts_again(member, automation):
    response = member.post(f"/automations/{automation.pk}/steps/new/", respond("a"))
    assert response.status_code == 302
    assert response["Location"] == f"/automations/{automation.pk}/steps/translate/?saved=1"


def test_save_and_exit_leaves_for_the_automation_page(member, automation):
    response = member.post(
        f"/automations/{automation.pk}/steps/new/", {**respond("a"), "exit": "1"},
        headers={"HX-Request": "true"},
    )  # fmt: skip
    assert response["HX-Redirect"] == f"/automations/{automation.pk}/"
    assert automation.steps.filter(key="translate").exists()


def test_a_row_change_keeps_the_account_and_name(member, automation, chatgpt_account):
    page = member.post(f"/automations/{automation.pk}/steps/new/", {
        "connector": "chatgpt", "action": "chat", "name": "Kept", "account": chatgpt_account.pk,
        "messages__0__role": "user", "messages__0__content": "hi", "add_row": "messages",
    }).content.decode()  # fmt: skip
    assert f'<option value="{chatgpt_account.pk}" selected>' in page
    assert 'value="Kept"' in page


def test_deleting_a_step_shows_a_confirmation_first(member, automation):
    url = f"/automations/{automation.pk}/steps/second/delete/"
    assert "Delete the step" in member.get(url).content.decode()
    assert automation.steps.count() == 2
    assert member.post(url).status_code == 302
    assert automation.steps.count() == 1


def test_deleting_an_automation_shows_a_confirmation_first(member, automation):
    url = f"/automations/{automation.pk}/delete/"
    assert "Delete the automation" in member.get(url).content.decode()
    assert Automation.objects.filter(pk=automation.pk).exists()
    member.post(url)
    assert not Automation.objects.filter(pk=automation.pk).exists()


def test_a_viewer_cannot_delete_or_reorder(client, viewer, automation):
    client.force_login(viewer)
    assert client.get(f"/automations/{automation.pk}/delete/").status_code == 403
    assert client.post(f"/automations/{automation.pk}/steps/reorder/").status_code == 403


def test_an_outsider_cannot_delete_or_reorder(client, outsider, automation):
    client.force_login(outsider)
    assert client.post(f"/automations/{automation.pk}/delete/").status_code == 404
    assert client.post(f"/automations/{automation.pk}/steps/reorder/").status_code == 404


def test_a_refused_activation_redirects_with_its_reasons(member, team):
    empty = Automation.objects.create(project=make_project(team), name="Empty")
    response = member.post(f"/automations/{empty.pk}/activate/", follow=True)
    assert response.redirect_chain == [(f"/automations/{empty.pk}/", 302)]
    assert "Add a trigger first." in response.content.decode()
    assert "there is no connector" not in response.content.decode()


def test_it_moves_a_step_down_with_the_keyboard_buttons(member, team):
    automation = http_automation(make_project(team), "Two", [
        reply_step("a", key="a"), reply_step("b", key="b")], active=False)  # fmt: skip
    member.post(f"/automations/{automation.pk}/steps/reorder/", {"move": "a:down"})
    assert [s.key for s in automation.steps.order_by("position")] == ["b", "a"]


def test_it_refuses_an_order_that_breaks_a_reference(member, automation):
    response = member.post(
        f"/automations/{automation.pk}/steps/reorder/", {"order": "second,first"}, follow=True
    )
    assert [s.key for s in automation.steps.order_by("position")] == ["first", "second"]
    assert "Step 1 (Second) - Response body" in response.content.decode()


def test_a_lookup_never_sends_a_reference(
    member, automation, contentstack_account, contentstack_standin
):
    url = f"/automations/{automation.pk}/lookup/contentstack/entries/"
    member.get(url, {"account": contentstack_account.pk, "content_type": "{{ trigger.x }}"})
    sent = [(r.path, r.query, r.headers) for r in contentstack_standin.received]
    assert sent and "trigger.x" not in repr(sent) and "%7B" not in repr(sent).upper()


def test_messages_name_the_step_and_field(member, automation):
    page = member.post(f"/automations/{automation.pk}/steps/new/", {
        "connector": "chatgpt", "action": "chat", "name": "Ask", "model": "gpt-4o-mini",
        "messages__0__role": "user", "messages__0__content": "hi"}).content.decode()  # fmt: skip
    # Saved as a draft: the account is only required to activate.
    assert "steps[" not in page
    response = member.post(f"/automations/{automation.pk}/activate/", follow=True)
    assert "Step 3 (Ask) - Account is required" in response.content.decode()


def test_the_name_error_shows_beside_the_name(member, team):
    page = member.post("/automations/new/", {"team": team.slug, "name": ""}).content.decode()
    assert 'id="name-error"' in page


def test_sub_automation_inputs_are_edited_as_rows(member, team):
    sub = sub_automation(make_project(team), "Sub", "", [], [reply_step("x")], active=False)
    url = f"/automations/{sub.pk}/trigger/"
    page = member.get(url).content.decode()
    assert "+ Add Input" in page and 'name="schema__0__key"' in page
    member.post(url, {"connector": "sub_automation", "trigger": "called",
                      "schema__0__key": "text", "schema__0__type": "string",
                      "schema__0__required": "on", "schema__0__description": "The text"})  # fmt: skip
    sub.refresh_from_db()
    assert sub.trigger_config["schema"] == [
        {"key": "text", "type": "string", "required": True, "description": "The text"}
    ]


def test_the_webhook_url_is_absolute_without_public_base_url(member, automation, settings):
    settings.PUBLIC_BASE_URL = ""
    assert (
        "http://testserver/hooks/" in member.get(f"/automations/{automation.pk}/").content.decode()
    )


def test_suggestions_never_show_python_type_names(member, automation):
    automation.trigger_sample = {"body": {"text": "hi", "none": None, "n": 1}}
    automation.save()
    page = member.get(f"/automations/{automation.pk}/steps/second/").content.decode()
    assert "NoneType" not in page and "steps.first" in page and "First" in page


def test_renaming_a_step_can_update_its_key_and_the_references_to_it(member, automation):
    automation.steps.filter(key="first").update(sample_output={"text": "kept"})
    response = member.post(f"/automations/{automation.pk}/steps/first/", {
        "connector": "response", "action": "respond", "name": "Greeting",
        "body": "{{ trigger.body.text }}", "rekey": "1",
    })  # fmt: skip
    assert response.status_code == 302, response.content.decode()
    assert response["Location"] == f"/automations/{automation.pk}/steps/greeting/?saved=1"
    assert [s.key for s in automation.steps.all()] == ["greeting", "second"]
    assert automation.steps.get(key="second").config["body"] == "{{ steps.greeting }}"
    assert automation.steps.get(key="greeting").sample_output == {"text": "kept"}


def test_renaming_a_step_without_the_box_keeps_its_key(member, automation):
    member.post(f"/automations/{automation.pk}/steps/first/", {
        "connector": "response", "action": "respond", "name": "Greeting",
        "body": "{{ trigger.body.text }}",
    })  # fmt: skip
    assert [s.key for s in automation.steps.all()] == ["first", "second"]
    assert automation.steps.get(key="first").name == "Greeting"


def test_a_refused_rename_changes_nothing(member, automation):
    page = member.post(f"/automations/{automation.pk}/steps/first/", {
        "connector": "response", "action": "respond", "name": "Greeting",
        "body": "{{ steps.nowhere }}", "rekey": "1",
    }).content.decode()  # fmt: skip
    assert 'role="alert"' in page or "errorlist" in page
    assert [s.key for s in automation.steps.all()] == ["first", "second"]
    assert automation.steps.get(key="second").config["body"] == "{{ steps.first }}"


def test_help_texts_name_this_automations_step_keys(member, team, chatgpt_account):
    automation = services.automation_create(project=make_project(team), data={
        "name": "Mine", "trigger": {"connector": "http", "trigger": "request", "config": {}},
        "steps": [{"key": "pick", "name": "Pick", "connector": "chatgpt",
                   "action": "function_calling", "account": chatgpt_account.pk,
                   "config": {"model": "gpt-4o-mini", "sub_automations": []}}],
    }, partial=True)  # fmt: skip
    page = member.get(
        f"/automations/{automation.pk}/steps/new/?connector=sub_automation&action=run"
    ).content.decode()
    assert "steps.pick.function_name" in page
    assert "steps.choose" not in page
