"""The wizard never loses or corrupts work (issue 12 items 1-5), clicked and typed in
Chromium against the live server."""

from __future__ import annotations

import pytest

from automations.models import Automation, Step
from tests.e2e.wizard_support import (
    choose_action,
    new_automation,
    shot,
    sign_in,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def response_step(page, body: str) -> None:
    choose_action(page, "Response", "Response")
    page.fill("#step-name", "Reply")
    page.fill("#id_body", body)


def test_it_edits_the_saved_step_after_the_first_proceed(page, ada):
    sign_in(page, ada)
    new_automation(page, "Echo")
    response_step(page, "first")
    page.click("text=Proceed")
    page.wait_for_selector("text=Saved.")
    # The step list was refreshed in place, with the key derived from the name.
    page.wait_for_selector("#step-list >> text=1. Reply")
    assert page.is_visible("#step-list code:has-text('reply')")
    shot(page, "after-first-proceed")
    page.fill("#id_body", "second")
    # "Saved." is still shown from the first save: wait for the second one's answer.
    with page.expect_response(lambda answer: answer.request.method == "POST"):
        page.click("text=Proceed")
    page.wait_for_selector("text=Saved.")
    shot(page, "after-second-proceed")
    steps = list(Step.objects.filter(automation__name="Echo"))
    assert [(s.key, s.config["body"]) for s in steps] == [("reply", "second")]
    assert page.locator("#step-list a[data-step]").count() == 1
    assert page.url.endswith("/steps/reply/")


def test_save_and_exit_saves_what_was_typed(page, ada):
    sign_in(page, ada)
    new_automation(page, "Echo")
    response_step(page, "typed, never proceeded")
    page.click("text=Save and Exit")
    page.wait_for_selector("text=Overview")
    shot(page, "after-save-and-exit")
    assert Step.objects.get(key="reply").config["body"] == "typed, never proceeded"
    assert page.is_visible("#panel >> text=Reply")


def test_save_and_exit_refuses_like_proceed(page, ada):
    sign_in(page, ada)
    new_automation(page, "Echo")
    response_step(page, "ok")
    if not page.is_visible("#id_status"):
        page.click("text=Show Optional Fields")
    page.fill("#id_status", "999")
    page.click("text=Save and Exit")
    page.wait_for_selector("text=must be a number between 200 and 599")
    assert not Step.objects.exists()
    assert page.input_value("#id_body") == "ok"


def test_it_warns_before_leaving_unsaved_changes(page, ada):
    sign_in(page, ada)
    new_automation(page, "Echo")
    response_step(page, "unsaved")
    page.keyboard.type(" more")
    dialogs = []

    def dismiss(dialog):
        dialogs.append(dialog.type)
        dialog.dismiss()

    page.on("dialog", dismiss)
    page.click("text=← All automations", no_wait_after=True)
    page.wait_for_timeout(500)
    assert dialogs == ["beforeunload"]
    assert page.input_value("#id_body").startswith("unsaved")


def test_row_editors_keep_the_account_and_what_was_typed(page, ada, ada_chatgpt):
    sign_in(page, ada)
    new_automation(page, "Chat")
    choose_action(page, "ChatGPT", "Chat")
    page.fill("#step-name", "Greeting")
    page.select_option("#account", str(ada_chatgpt.pk))
    page.fill("[name=messages__0__content]", "Be brief.")
    page.click("text=+ Add Prompt Text")
    page.wait_for_selector("[name=messages__1__content]")
    shot(page, "after-add-prompt-text")
    assert page.input_value("#account") == str(ada_chatgpt.pk)
    assert page.input_value("#step-name") == "Greeting"
    page.fill("[name=messages__1__content]", "drop me")
    page.click("[aria-label='Remove row 2']")
    page.wait_for_selector("[name=messages__1__content]", state="detached")
    assert page.input_value("#account") == str(ada_chatgpt.pk)
    assert page.input_value("[name=messages__0__content]") == "Be brief."
    assert not Step.objects.exists()


def test_row_editors_keep_the_account_on_a_function_calling_step(
    page,
    ada,
    ada_chatgpt,
):
    sign_in(page, ada)
    new_automation(page, "Calls")
    choose_action(page, "ChatGPT", "Function Calling")
    page.select_option("#account", str(ada_chatgpt.pk))
    page.click("text=+ Add Sub Automation")
    page.wait_for_selector("[name=sub_automations__1__name]")
    assert page.input_value("#account") == str(ada_chatgpt.pk)


def test_test_action_tests_what_the_form_holds(page, ada):
    sign_in(page, ada)
    new_automation(page, "Echo")
    response_step(page, "old")
    page.click("text=Proceed")
    page.wait_for_selector("text=Saved.")
    page.fill("#id_body", "new")
    page.click("button:has-text('Test Action')")
    page.wait_for_selector("#test-output >> text=Output")
    shot(page, "after-test-action")
    output = page.inner_text("#test-output pre")
    assert '"new"' in output and '"old"' not in output
    assert Step.objects.get().config["body"] == "new"


def test_test_trigger_tests_what_the_form_holds(page, ada):
    sign_in(page, ada)
    new_automation(page, "Hook")
    page.click("text=Configure Trigger")
    page.click("#panel .grid a:has(strong:text-is('HTTP'))")
    page.wait_for_selector("#panel >> text=HTTP: Choose Trigger")
    page.click("#panel .grid a:has(strong:text-is('HTTP request'))")
    page.select_option("#id_method", "GET")
    page.click("button:has-text('Test Trigger')")
    page.wait_for_selector("#test-output >> text=Output")
    assert Automation.objects.get().trigger_config["method"] == "GET"
    assert '"GET"' in page.inner_text("#test-output pre")


def test_deleting_a_step_asks_first(page, ada):
    sign_in(page, ada)
    new_automation(page, "Echo")
    response_step(page, "x")
    page.click("text=Proceed")
    page.wait_for_selector("text=Saved.")
    page.click("text=Delete step")
    page.wait_for_selector("text=Delete the step 'Reply' (reply)?")
    shot(page, "delete-step-confirm")
    assert Step.objects.exists()
    page.click("button:has-text('Delete')")
    page.wait_for_selector("text=Overview")
    assert not Step.objects.exists()


def test_deleting_an_automation_asks_first(page, ada):
    sign_in(page, ada)
    new_automation(page, "Doomed")
    page.click("text=Delete automation")
    page.wait_for_selector("text=Delete the automation 'Doomed'?")
    page.click("text=Cancel")
    page.wait_for_selector("text=Overview")
    page.click("text=Delete automation")
    page.click("button:has-text('Delete')")
    page.wait_for_selector("text=No automations yet.")
    assert not Automation.objects.exists()


def test_reloading_after_a_refused_activation_is_not_a_405(page, ada):
    sign_in(page, ada)
    new_automation(page, "Empty")
    page.click("button:has-text('Activate')")
    page.wait_for_selector("text=Add a trigger first.")
    shot(page, "refused-activation")
    response = page.reload()
    assert response.status == 200
    assert "405" not in page.title()


def test_add_new_account_keeps_what_was_typed_into_the_step(page, ada, openai_standin):
    sign_in(page, ada)
    new_automation(page, "Chat")
    choose_action(page, "ChatGPT", "Chat")
    page.fill("#step-name", "Greeting")
    page.fill("[name=messages__0__content]", "Be brief.")
    page.click("text=+ Add New Account")
    page.wait_for_selector("text=Authorize ChatGPT")
    page.fill("#title", "New ChatGPT")
    page.fill("[name=api_key]", openai_standin.api_key)
    page.click("summary:text-is('Show Optional Fields')")
    page.fill("[name=organization_id]", "org-standin")
    page.fill("[name=base_url]", openai_standin.base_url)
    page.click("button:text-is('Authorize')")
    page.wait_for_selector("text=Configure Action:")
    shot(page, "back-from-add-new-account")
    account = ada.teams.get().accounts.get(title="New ChatGPT")
    assert page.input_value("#account") == str(account.pk)
    assert page.input_value("#step-name") == "Greeting"
    assert page.input_value("[name=messages__0__content]") == "Be brief."
    # The secret typed into the Authorize form is not kept in the tab.
    kept = page.evaluate("JSON.stringify(Object.assign({}, window.sessionStorage))")
    assert openai_standin.api_key not in kept
    page.click("button:text-is('Proceed')")
    page.wait_for_selector("#panel >> text=Saved.")
    step = Step.objects.get()
    assert step.name == "Greeting" and step.account_id == account.pk
    assert step.config["messages"][0]["content"] == "Be brief."
