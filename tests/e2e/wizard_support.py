"""What the wizard's browser tests share: a signed-in Chromium page on the live server,
and screenshots of each state under artifacts/screenshots/ (kept by CI)."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from tests.e2e.test_browser import CHROMIUM
from tests.support.required import require

SCREENSHOTS = Path(__file__).resolve().parents[2] / "artifacts" / "screenshots"
PASSWORD = "pw-ada-123456"


@pytest.fixture
def page(live_server, django_user_model, settings, request):
    require(os.path.exists(CHROMIUM), "Debian's chromium")
    os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    from playwright.sync_api import sync_playwright

    settings.ALLOWED_HOSTS = ["localhost", "127.0.0.1", "testserver"]
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run"],
        )  # fmt: skip
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        page = context.new_page()
        page.set_default_timeout(15000)
        page.base = live_server.url
        page.test_name = re.sub(r"\W+", "_", request.node.name)
        yield page
        browser.close()


def sign_in(page, user) -> None:
    page.goto(page.base + "/")
    page.fill("#id_username", user.get_username())
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_selector("text=New automation")


def shot(page, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{page.test_name}-{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def new_automation(page, name: str, template: str = "") -> None:
    page.fill("#project_name", "Translations")
    page.fill("#name", name)
    if template:
        page.select_option("#template", template)
    page.click("text=Create")
    page.wait_for_selector("text=Configure Trigger")


def open_step(page, label: str) -> None:
    page.click(f"#step-list a:has-text('{label}')")
    page.wait_for_selector("text=Configure Action:")


def choose_action(page, connector: str, action: str) -> None:
    page.click("text=+ Configure Action Step")
    page.click(f"#panel .grid a:has(strong:text-is('{connector}'))")
    page.click(f"#panel .grid a:has(strong:text-is('{action}'))")
    page.wait_for_selector("text=Configure Action:")
