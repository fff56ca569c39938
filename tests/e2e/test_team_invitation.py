"""Issue 11's proof in a real browser: an owner invites a new person as editor; the link
from the e-mail, opened in a fresh browser, lets them set a password and land in the
team, where they are not offered what an editor may not do; the owner's audit log shows
the invitation and the joining. E2E_SCREENSHOTS=<folder> keeps a picture of each page."""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import pytest
from django.core import mail

from accounts.models import Membership
from accounts.services import team_create
from tests.support.required import require

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
SHOTS = os.environ.get("E2E_SCREENSHOTS", "")

pytestmark = [pytest.mark.browser]


@pytest.fixture
def browser():
    require(os.path.exists(CHROMIUM), "Debian's chromium")
    os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
            ],
        )
        yield browser
        browser.close()


def _shot(page, name: str) -> None:
    if SHOTS:
        Path(SHOTS).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(SHOTS) / f"{name}.png"), full_page=True)


@pytest.mark.django_db(transaction=True)
def test_an_invited_editor_joins_and_the_owner_sees_it_in_the_audit_log(
    live_server, browser, django_user_model, settings
):
    settings.ALLOWED_HOSTS = ["localhost", "127.0.0.1", "testserver"]
    settings.PUBLIC_BASE_URL = ""
    owner = django_user_model.objects.create_user("olivia", "olivia@example.com", "pw-olivia-123")
    team = team_create(name="Acme", owner=owner)

    page = browser.new_context().new_page()
    page.goto(live_server.url + "/")
    page.fill("#id_username", "olivia")
    page.fill("#id_password", "pw-olivia-123")
    page.click("button:text-is('Sign in')")
    page.click("nav.top >> text=Team settings")
    page.fill("#invite-email", "ivy@example.com")
    page.select_option("#invite-role", "editor")
    page.click("text=Send invitation")
    page.wait_for_selector("text=Invitation sent to ivy@example.com")
    _shot(page, "01-team-settings-owner")

    link = re.search(r"http://\S+/invitations/\S+/", mail.outbox[-1].body).group(0)
    invited = browser.new_context().new_page()
    invited.goto(link)
    invited.wait_for_selector("text=Join Acme")
    _shot(invited, "02-invitation-new-person")
    invited.fill("#id_username", "ivy")
    invited.fill("#id_password1", "a-long-pass-1234")
    invited.fill("#id_password2", "a-long-pass-1234")
    invited.click("button:has-text('Join Acme')")
    invited.wait_for_selector("text=Automations of Acme")
    _shot(invited, "03-dashboard-new-editor")
    assert Membership.objects.get(team=team, user__username="ivy").role == "editor"
    assert not invited.is_visible("nav.top >> text=Audit log")
    invited.click("nav.top >> text=Team settings")
    invited.wait_for_selector("text=your role: editor")
    assert invited.locator("#invite-email").count() == 0
    assert invited.locator("text=Transfer ownership").count() == 0
    _shot(invited, "04-team-settings-editor")
    invited.goto(f"{live_server.url}/teams/{team.slug}/audit/")
    assert "Your role does not allow this" in invited.content()
    _shot(invited, "05-refused-audit-log-editor")
    invited.goto(link)
    assert "was used already" in invited.content()

    page.click("nav.top >> text=Audit log")
    page.wait_for_selector("td:text-is('Member joined')")
    rows = page.locator("table tr").all_inner_texts()
    assert any("Member invited" in row and "olivia" in row for row in rows)
    assert any("Member joined" in row and "ivy" in row for row in rows)
    _shot(page, "06-audit-log-owner")
    page.select_option("#f-kind", "member.joined")
    page.click("button:text-is('Filter')")
    page.wait_for_selector("td:text-is('Member joined')")
    assert page.locator("td:text-is('Member invited')").count() == 0

    page.click("nav.top >> text=Profile")
    page.fill("#token-name", "laptop")
    page.click("text=Make a token")
    page.wait_for_selector("#new-token")
    _shot(page, "07-profile-new-token")
    page.click("text=Change password")
    _shot(page, "08-password-change")
