"""What the wizard's browser tests share: a signed-in Chromium page on the live server,
and screenshots of each state under artifacts/screenshots/ (kept by CI)."""

from __future__ import annotations

import json
from pathlib import Path

SCREENSHOTS = Path(__file__).resolve().parents[2] / "artifacts" / "screenshots"
PASSWORD = "pw-ada-123456"


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
    page.click("button:text-is('Create')")
    page.wait_for_selector("text=Configure Trigger")


def open_step(page, label: str) -> None:
    page.click(f"#step-list a[data-step]:has-text('{label}') >> nth=0")
    # The panel shown before also says "Configure Action": wait for this step's own.
    page.wait_for_selector(f"#step-name[value='{label}']")


def choose_action(page, connector: str, action: str) -> None:
    page.click("text=+ Configure Action Step")
    page.click(f"#panel .grid a:has(strong:text-is('{connector}'))")
    page.wait_for_selector(f"#panel >> text={connector}: Choose an Action")
    page.click(f"#panel .grid a:has(strong:text-is('{action}'))")
    page.wait_for_selector("text=Configure Action:")


ENTRY_CREATED = (
    Path(__file__).resolve().parents[1] / "connectors/contentstack/fixtures/entry_create.json"
)


def deliver_entry_and_check_its_featured_image(page, contentstack_standin) -> None:
    """Use case 2's ending: Contentstack delivers a new entry to the registered webhook,
    and the entry gets the generated image as its featured image."""
    (webhook,) = contentstack_standin.webhooks.values()
    header = webhook["destinations"][0]["custom_header"][0]
    entry = contentstack_standin.add_entry("blog_post", "Ten tips for spring gardening")
    payload = json.loads(ENTRY_CREATED.read_text().replace("__ENTRY_UID__", entry["uid"]))
    response = page.request.post(
        webhook["destinations"][0]["target_url"],
        data=json.dumps(payload),
        headers={header["header_name"]: header["value"], "Content-Type": "application/json"},
    )
    assert response.status == 202, response.text()
    (asset,) = contentstack_standin.assets.values()
    assert contentstack_standin.entry("blog_post", entry["uid"])["featured_image"] == asset["uid"]
