"""The wizard in a real browser (Debian's Chromium driven by Playwright): sign in, start
from the use case 1 template, open a step, Show Optional Fields, Proceed."""

from __future__ import annotations

import os
import shutil

import pytest

from tests.support.required import require

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"

pytestmark = [pytest.mark.browser]


@pytest.fixture
def browser_page():
    require(os.path.exists(CHROMIUM), "Debian's chromium")
    # Playwright's sync API runs an event loop in this thread; the ORM calls the test
    # makes around it are still plain synchronous ones.
    os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run"],
        )  # fmt: skip
        page = browser.new_page()
        yield page
        browser.close()


@pytest.mark.django_db(transaction=True)
def test_a_user_configures_a_step_in_the_wizard(
    live_server, browser_page, django_user_model, settings
):
    from accounts.services import team_create

    settings.ALLOWED_HOSTS = ["localhost", "127.0.0.1", "testserver"]
    user = django_user_model.objects.create_user("ada", password="pw-ada-123456")
    team_create(name="Acme", owner=user)
    page = browser_page
    page.goto(live_server.url + "/")
    page.fill("#id_username", "ada")
    page.fill("#id_password", "pw-ada-123456")
    page.click("button[type=submit]")
    page.select_option("#template", "translate_with_function_calling")
    page.click("button:text-is('Create')")
    page.wait_for_selector("text=Configure Trigger")
    page.click("nav.steps a:nth-child(2)")
    page.wait_for_selector("text=Configure Action: ChatGPT · Function Calling")
    page.click("text=Show Optional Fields")
    page.fill("#id_temperature", "0.4")
    page.fill("#id_max_tokens", "many")
    page.click("text=Proceed")
    page.wait_for_selector("text=must be a number")
    # The panel was swapped in place; what was typed is still there.
    assert page.input_value("#id_max_tokens") == "many"
    assert page.is_visible("text=Configure Trigger")
    page.fill("#id_max_tokens", "200")
    page.click("text=Proceed")
    page.wait_for_selector("text=Saved.")
    from automations.models import Step

    assert Step.objects.get(key="choose").config["temperature"] == 0.4
    assert Step.objects.get(key="choose").config["max_tokens"] == 200
