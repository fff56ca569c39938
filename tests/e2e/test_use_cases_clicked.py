"""The two seed use cases built by clicking and typing in Chromium, against the OpenAI
and Contentstack stand-ins (issue 12, Proof)."""

from __future__ import annotations

import pytest

from accounts.services import account_create
from automations.models import Automation, Execution, Status
from tests.e2e.wizard_support import (
    deliver_entry_and_check_its_featured_image,
    new_automation,
    open_step,
    shot,
    sign_in,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def choose_account_and_proceed(page, step: str, account_pk: int) -> None:
    open_step(page, step)
    page.select_option("#account", str(account_pk))
    page.click("button:has-text('Proceed')")
    page.wait_for_selector("text=Saved.")


def test_use_case_1_from_the_template(page, ada, ada_chatgpt, openai_standin, settings):
    settings.PUBLIC_BASE_URL = ""  # the webhook URL is made absolute from the request
    openai_standin.tool_to_call = "German_translator"
    openai_standin.tool_arguments = {"text": "Good morning"}
    sign_in(page, ada)
    new_automation(page, "", template="translate_with_function_calling")
    shot(page, "created")
    page.click("#step-list >> text=Configure Trigger")
    page.click("button:has-text('Test Trigger')")
    page.wait_for_selector("#test-output >> text=Output")
    for step in ("Function Calling Response", "Function Calling"):
        choose_account_and_proceed(page, step, ada_chatgpt.pk)
    page.click("button:has-text('Test Action')")
    page.wait_for_selector("#test-output >> text=German translator")
    shot(page, "function-calling-tested")

    # Activation names the sub automations that are off and offers to switch them on.
    page.click("button:text-is('Activate')")
    page.wait_for_selector("text=It calls sub automations that are not active")
    page.click("text=Activate together with its sub automations")
    # The translator's own ChatGPT step has no account yet: said in the user's words.
    page.wait_for_selector("text=German translator: Step 1 (Translate) - Account is required")
    shot(page, "together-refused")
    translator = Automation.objects.get(name="German translator")
    page.goto(f"{page.base}/automations/{translator.pk}/")
    choose_account_and_proceed(page, "Translate", ada_chatgpt.pk)
    main = Automation.objects.get(name="Translate via Function Calling")
    page.goto(f"{page.base}/automations/{main.pk}/")
    page.click("text=Activate together with its sub automations")
    page.wait_for_selector("text=Activated German translator, Word counter, Translate via")
    shot(page, "activated")

    url = page.inner_text("#webhook-url")
    assert url.startswith(page.base + "/hooks/")
    response = page.request.post(url, data={"text": "Good morning"})
    assert response.status == 200, response.text()
    assert response.text() == "Final: Echo: Good morning"
    assert Execution.objects.get(automation=main, is_test=False).status == Status.SUCCEEDED


def test_use_case_2_from_the_template(
    page, ada, ada_chatgpt, openai_standin, contentstack_standin, settings
):
    stack = account_create(
        team=ada.teams.get(), connector="contentstack", title="Blog stack",
        credentials={"region": "custom", "base_url": contentstack_standin.base_url,
                     "api_key": contentstack_standin.api_key,
                     "management_token": contentstack_standin.token},
    )  # fmt: skip
    settings.PUBLIC_BASE_URL = page.base
    contentstack_standin.add_entry("blog_post", "An earlier post")  # Test Trigger samples it
    sign_in(page, ada)
    new_automation(page, "", template="featured_image_with_dalle3")
    page.click("#step-list >> text=Configure Trigger")
    page.select_option("#account", str(stack.pk))
    page.click("button:has-text('Proceed')")
    page.wait_for_selector("text=Saved.")
    page.click("button:has-text('Test Trigger')")
    page.wait_for_selector("#test-output >> text=Output")
    choose_account_and_proceed(page, "DALL-E 3 Image Generator", ada_chatgpt.pk)
    page.click("button:has-text('Test Action')")
    page.wait_for_selector("#test-output >> text=revised_prompt")
    choose_account_and_proceed(page, "Create an Asset", stack.pk)

    # Entry Data: JSON holding a reference, with a mistake; reported with its position.
    open_step(page, "Update an Entry")
    page.select_option("#account", str(stack.pk))
    page.fill("#id_entry_data", '{"featured_image": {{ steps.asset.uid }}')
    page.click("button:has-text('Proceed')")
    page.wait_for_selector("text=is not valid JSON (Expecting ',' delimiter at line 1 column 41)")
    shot(page, "entry-data-json-error")
    page.fill("#id_entry_data", "")
    page.click("#id_entry_data")
    page.keyboard.type('{"featured_image": ')
    page.fill(".suggestion-filter", "asset")
    page.click(".data-element:has-text('steps.asset')")
    page.click("#id_entry_data")
    page.keyboard.press("End")
    page.keyboard.type("}")
    assert page.input_value("#id_entry_data") == '{"featured_image": {{ steps.asset }}}'
    page.fill("#id_entry_data", '{"featured_image": "{{ steps.asset.uid }}"}')
    page.click("button:has-text('Proceed')")
    page.wait_for_selector("text=Saved.")
    page.click("button:text-is('Activate')")
    page.wait_for_selector("h1 .ok:has-text('active')")
    shot(page, "activated")

    deliver_entry_and_check_its_featured_image(page, contentstack_standin)
