"""A branch built in the wizard (issue 13), clicked and typed in Chromium against the
live server: an If step on trigger.body.lang with a Response in `then` and another in
`else`, activated, and its webhook called in English and in French."""

from __future__ import annotations

import pytest

from automations.models import Step
from tests.e2e.wizard_support import new_automation, shot, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def proceed(page) -> None:
    # A panel may still say "Saved." from before: wait for this post's own answer.
    with page.expect_response(lambda answer: answer.request.method == "POST"):
        page.click("button:text-is('Proceed')")
    page.wait_for_selector("text=Saved.")


def add_response_in(page, holder: str, branch: str, name: str, body: str) -> None:
    page.click(f"#step-list a[data-add='{holder}:{branch}']")
    page.wait_for_selector(f"#panel >> text=A new step at the end of {branch}")
    page.click("#panel .grid a:has(strong:text-is('Response'))")
    page.wait_for_selector("#panel >> text=Response: Choose an Action")
    page.click("#panel .grid a:has(strong:text-is('Response'))")
    page.wait_for_selector("#id_body")
    page.fill("#step-name", name)
    page.fill("#id_body", body)
    proceed(page)


def test_it_builds_a_branch_and_answers_each_language(page, ada, settings):
    settings.PUBLIC_BASE_URL = page.base
    sign_in(page, ada)
    new_automation(page, "Greeter")

    page.click("#step-list >> text=Configure Trigger")
    page.click("#panel .grid a:has(strong:text-is('HTTP'))")
    page.click("#panel .grid a:has(strong:text-is('HTTP request'))")
    page.select_option("#id_method", "POST")
    proceed(page)

    page.click("text=+ Configure Action Step")
    page.click("#panel .grid a:has(strong:text-is('Flow'))")
    page.wait_for_selector("#panel >> text=Flow: Choose an Action")
    page.click("#panel .grid a:has(strong:text-is('If (branch)'))")
    page.fill("#step-name", "Is it English")
    page.fill("[name=conditions__0__path]", "trigger.body.lang")
    page.select_option("[name=conditions__0__operator]", "equals")
    page.fill("[name=conditions__0__value]", "en")
    shot(page, "if-conditions")
    proceed(page)
    # The branch's lists are offered in the step list, indented under it.
    page.wait_for_selector("#step-list a[data-add='is_it_english:then']")
    assert page.is_visible("#step-list a[data-add='is_it_english:else']")

    add_response_in(page, "is_it_english", "then", "Hello", "Hello")
    add_response_in(page, "is_it_english", "else", "Bonjour", "Bonjour")
    shot(page, "branch-built")
    nested = page.locator("#step-list a.nested-step[data-step]")
    assert nested.all_inner_texts()[0].startswith("then 1. Hello")
    assert nested.all_inner_texts()[1].startswith("else 1. Bonjour")
    steps = {s.key: (s.parent.key if s.parent else "", s.branch) for s in Step.objects.all()}
    assert steps == {
        "is_it_english": ("", ""),
        "hello": ("is_it_english", "then"),
        "bonjour": ("is_it_english", "else"),
    }

    page.click("button:text-is('Save and Exit')")
    page.wait_for_selector("text=Overview")
    page.click("button:text-is('Activate')")
    page.wait_for_selector("text=(active)")
    shot(page, "activated")

    url = page.inner_text("#webhook-url")
    english = page.request.post(url, data={"lang": "en"})
    french = page.request.post(url, data={"lang": "fr"})
    assert (english.status, english.text()) == (200, "Hello")
    assert (french.status, french.text()) == (200, "Bonjour")
