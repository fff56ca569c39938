"""Fixtures of the wizard's browser tests: a Chromium page on the live server, and a
user with a team."""

from __future__ import annotations

import os
import re

import pytest

from accounts.services import account_create, team_create
from tests.e2e.test_browser import CHROMIUM
from tests.e2e.wizard_support import PASSWORD, shot
from tests.support.required import require


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
        report = getattr(request.node, "report_call", None)
        if report is not None and report.failed:
            shot(page, "failed")
        browser.close()


@pytest.fixture
def ada(django_user_model):
    user = django_user_model.objects.create_user("ada", password=PASSWORD)
    team_create(name="Acme", owner=user)
    return user


@pytest.fixture
def ada_chatgpt(ada, openai_standin):
    return account_create(
        team=ada.teams.get(), connector="chatgpt", title="My ChatGPT",
        credentials={"api_key": openai_standin.api_key, "organization_id": "org-standin",
                     "base_url": openai_standin.base_url},
    )  # fmt: skip


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    if report.when == "call":
        item.report_call = report
    return report
