"""The two seed use cases built from BLANK automations by clicking and typing in
Chromium, against the OpenAI and Contentstack stand-ins (issue 12, Proof); and every
page of the team at 1280 and 390 px wide, screenshotted under artifacts/screenshots/."""

from __future__ import annotations

import pytest

from accounts.services import account_create
from automations.models import Automation, Execution, Status
from tests.automations.factories import make_execution
from tests.e2e.wizard_support import (
    choose_action,
    deliver_entry_and_check_its_featured_image,
    new_automation,
    shot,
    sign_in,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def choose_trigger(page, connector: str, trigger: str) -> None:
    page.click("#step-list >> text=Configure Trigger")
    page.click(f"#panel .grid a:has(strong:text-is('{connector}'))")
    page.click(f"#panel .grid a:has(strong:text-is('{trigger}'))")
    page.wait_for_selector("text=Configure Trigger:")


def put(page, selector: str, value: str) -> None:
    """Type into a field, or choose in it when it is a list of choices."""
    element = page.locator(selector)
    if element.evaluate("e => e.tagName") == "SELECT":
        element.select_option(value)
    else:
        element.fill(value)


def proceed(page) -> None:
    page.click("button:text-is('Proceed')")
    page.wait_for_selector("#panel >> text=Saved.")


def prompt_rows(page, rows: list[tuple[str, str]]) -> None:
    for index, (role, content) in enumerate(rows):
        if index:
            page.click("button:text-is('+ Add Prompt Text')")
        page.wait_for_selector(f"[name=messages__{index}__content]")
        page.select_option(f"[name=messages__{index}__role]", role)
        page.fill(f"[name=messages__{index}__content]", content)


def test_use_case_1_from_a_blank_automation(page, ada, ada_chatgpt, openai_standin, settings):
    settings.PUBLIC_BASE_URL = ""
    openai_standin.tool_to_call = "German_translator"
    openai_standin.tool_arguments = {"text": "Good morning"}
    sign_in(page, ada)

    # The sub automation: called with {"text": ...}, ChatGPT translates, Response answers.
    new_automation(page, "German translator")
    choose_trigger(page, "Sub Automation", "Called by another automation")
    page.fill("#id_description", "Translates the given text into German.")
    page.fill("[name=schema__0__key]", "text")
    page.select_option("[name=schema__0__type]", "string")
    page.check("[name=schema__0__required]")
    page.fill("[name=schema__0__description]", "The text to translate")
    proceed(page)
    choose_action(page, "ChatGPT", "Chat")
    page.fill("#step-name", "Translate")
    # The team's only ChatGPT account is chosen already.
    assert page.input_value("#account") == str(ada_chatgpt.pk)
    put(page, "#id_model", "gpt-4o-mini")
    prompt_rows(page, [("system", "Translate the user's text into German."),
                       ("user", "{{ trigger.text }}")])  # fmt: skip
    proceed(page)
    choose_action(page, "Response", "Response")
    page.fill("#step-name", "Answer")
    page.fill("#id_body", "{{ steps.translate.content }}")
    proceed(page)
    page.click("button:text-is('Activate')")
    page.wait_for_selector("h1 .ok:has-text('active')")

    # The main automation, from a blank one.
    page.goto(page.base + "/")
    new_automation(page, "Translate via Function Calling")
    choose_trigger(page, "HTTP", "HTTP request")
    put(page, "#id_method", "POST")
    proceed(page)
    # Test Trigger with a real request: the panel waits, the request becomes the sample.
    page.click("button:text-is('Wait for a request')")
    page.wait_for_selector("text=Waiting for a request")
    shot(page, "trigger-waiting")
    url = page.inner_text("#webhook-url")
    answer = page.request.post(url, data={"text": "Good morning"})
    assert answer.json() == {"status": "sampled"}
    page.wait_for_selector("text=A request arrived")
    shot(page, "trigger-sampled")
    assert page.evaluate("document.documentElement.scrollWidth") <= 1280

    choose_action(page, "ChatGPT", "Function Calling")
    page.fill("#step-name", "Function Calling")
    put(page, "#id_model", "gpt-4o-mini")
    prompt_rows(page, [("user", "Translate to German language: {{ trigger.body.text }}")])
    page.fill("[name=sub_automations__0__name]", "German translator")
    proceed(page)
    page.click("button:text-is('Test Action')")
    page.wait_for_selector("#test-output >> text=German translator")

    choose_action(page, "Sub Automation", "Sub Automation")
    page.fill("#step-name", "Sub Automation")
    # The help text names this automation's Function Calling step by its own key.
    assert page.is_visible("text=steps.function_calling.function_name")
    page.fill("#id_sub_automation", "{{ steps.function_calling.function_name }}")
    page.click("#panel summary:text-is('Show Optional Fields')")
    page.fill("#id_arguments", "{{ steps.function_calling.arguments }}")
    proceed(page)
    page.click("button:text-is('Test Action')")
    page.wait_for_selector("#test-output >> text=Echo: Good morning")

    choose_action(page, "ChatGPT", "Function Calling Response")
    page.fill("#step-name", "Function Calling Response")
    put(page, "#id_model", "gpt-4o-mini")
    page.fill("#id_function_calling", "{{ steps.function_calling }}")
    page.fill("#id_sub_automation_response", "{{ steps.sub_automation }}")
    proceed(page)
    choose_action(page, "Response", "Response")
    page.fill("#step-name", "Response")
    page.fill("#id_body", "{{ steps.function_calling_response.content }}")
    proceed(page)
    page.click("button:text-is('Activate')")
    page.wait_for_selector("h1 .ok:has-text('active')")
    shot(page, "activated")

    response = page.request.post(url, data={"text": "Good morning"})
    assert response.status == 200, response.text()
    assert response.text() == "Final: Echo: Good morning"
    main = Automation.objects.get(name="Translate via Function Calling")
    assert Execution.objects.get(automation=main, is_test=False).status == Status.SUCCEEDED


def test_use_case_2_from_a_blank_automation(
    page, ada, ada_chatgpt, openai_standin, contentstack_standin, settings
):
    stack = account_create(
        team=ada.teams.get(), connector="contentstack", title="Blog stack",
        credentials={"region": "custom", "base_url": contentstack_standin.base_url,
                     "api_key": contentstack_standin.api_key,
                     "management_token": contentstack_standin.token},
    )  # fmt: skip
    settings.PUBLIC_BASE_URL = page.base
    contentstack_standin.add_entry("blog_post", "An earlier post")
    sign_in(page, ada)
    new_automation(page, "Featured image")
    choose_trigger(page, "Contentstack", "Entry")
    assert page.input_value("#account") == str(stack.pk)
    put(page, "#id_event", "created")
    proceed(page)
    page.click("button:has-text('Test Trigger')")
    page.wait_for_selector("#test-output >> text=Output")

    choose_action(page, "ChatGPT", "DALL-E 3 Image Generator")
    page.fill("#step-name", "Image")
    page.fill("#id_prompt", "Create an image for the Blog title - {{ trigger.entry.title }}")
    proceed(page)
    page.click("button:text-is('Test Action')")
    page.wait_for_selector("#test-output >> text=revised_prompt")

    choose_action(page, "Contentstack", "Create an Asset")
    page.fill("#step-name", "Asset")
    page.fill("#id_title", "{{ trigger.entry.title }}")
    page.fill("#id_file_name", "featured-image.png")
    page.fill("#id_url", "{{ steps.image.url }}")
    proceed(page)

    choose_action(page, "Contentstack", "Update an Entry")
    page.fill("#step-name", "Update")
    page.fill("#id_content_type", "{{ trigger.content_type.uid }}")
    page.fill("#id_entry", "{{ trigger.entry.uid }}")
    page.fill("#id_entry_data", '{"featured_image": "{{ steps.asset.uid }}"}')
    proceed(page)
    page.click("button:text-is('Activate')")
    page.wait_for_selector("h1 .ok:has-text('active')")
    shot(page, "activated")

    deliver_entry_and_check_its_featured_image(page, contentstack_standin)


def test_every_page_fits_a_phone_and_a_desktop(page, ada, ada_chatgpt):
    team = ada.teams.get()
    sign_in(page, ada)
    new_automation(page, "Echo")
    automation = Automation.objects.get(name="Echo")
    execution = make_execution(automation, trigger_output={"body": {"text": "hi"}})
    pages = {
        "automations": "/",
        "editor": f"/automations/{automation.pk}/",
        "trigger": f"/automations/{automation.pk}/trigger/?connector=http&trigger=request",
        "executions": "/executions/",
        "execution": f"/executions/{execution.pk}/",
        "accounts": "/accounts/",
        "account": f"/accounts/{ada_chatgpt.pk}/",
        "account-delete": f"/accounts/{ada_chatgpt.pk}/delete/",
        "audit": f"/teams/{team.slug}/audit/",
        "team": f"/teams/{team.slug}/",
        "profile": "/profile/",
    }
    for width in (1280, 390):
        page.set_viewport_size({"width": width, "height": 900})
        for name, path in pages.items():
            page.goto(page.base + path)
            shot(page, f"{name}-{width}")
            overflow = page.evaluate("document.documentElement.scrollWidth")
            assert overflow <= width, f"{name} is {overflow} px wide at {width}"
    # Keyboard: the first Tab reaches the skip link, with a visible outline.
    page.goto(page.base + "/")
    page.keyboard.press("Tab")
    focused = page.evaluate("document.activeElement.textContent")
    assert focused == "Skip to content"
    outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert outline != "none"
    # On a phone the navigation opens from its Menu button.
    page.set_viewport_size({"width": 390, "height": 900})
    page.click("#menu-button")
    page.click("#site-menu >> text=Executions")
    page.wait_for_selector("h1:has-text('Executions')")


def _box(page, selector: str) -> dict:
    return page.locator(selector).first.bounding_box()


def test_the_header_wraps_its_account_group_whole(page, ada):
    """At every desktop width down to the phone layout the team switcher, the user and
    Sign out stay on one line (Sign out once sat alone on a second at 1200-1280 px); on
    a phone the open menu is a full-width panel under the brand, not a column squeezed
    beside it."""
    sign_in(page, ada)
    page.goto(page.base + "/executions/")
    for width in range(1400, 761, -40):  # wherever the header has to wrap
        page.set_viewport_size({"width": width, "height": 900})
        middles = [
            box["y"] + box["height"] / 2
            for box in (
                _box(page, "header select[name=team]"),
                _box(page, "header .who"),
                _box(page, "header button:text-is('Sign out')"),
            )
        ]
        assert max(middles) - min(middles) < 4, f"the account group broke apart at {width} px"
    page.set_viewport_size({"width": 390, "height": 900})
    page.click("#menu-button")
    brand, menu = _box(page, "header a[href='/']"), _box(page, "#site-menu")
    assert menu["y"] >= brand["y"] + brand["height"]
    assert menu["width"] > 390 * 0.8
    shot(page, "header-menu-390")
