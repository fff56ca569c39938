"""The third template: translate each tag of an entry with ChatGPT, only when the entry
is in English (a branch and a loop)."""

from __future__ import annotations

import pytest

from automations import services
from automations.models import Automation
from tests.automations.factories import make_project
from tests.conftest import api_for

pytestmark = pytest.mark.django_db

KEY = "translate_tags_of_english_entries"


@pytest.fixture
def automation(owner, team, chatgpt_account, contentstack_account):
    body = {
        "project": make_project(team).pk,
        "accounts": {"chatgpt": chatgpt_account.pk, "contentstack": contentstack_account.pk},
    }
    response = api_for(owner).post(f"/api/v1/templates/{KEY}/use/", body, format="json")
    assert response.status_code == 201, response.content
    (created,) = response.json()
    assert created["steps"][0]["then"][0]["do"][0]["account"] == chatgpt_account.pk
    return services.automation_activate(automation=Automation.objects.get(pk=created["id"]))


def _run(automation, standin, locale: str):
    entry = standin.add_entry("blog_post", "Hello", tags=["news", "cats"])
    entry["locale"] = locale
    payload = {"event": "create", "module": "entry", "api_key": standin.api_key,
               "triggered_at": "2026-11-25T10:00:00Z", "content_type": {"uid": "blog_post"},
               "branch": {"uid": "main"}, "entry": entry, "locale": locale}  # fmt: skip
    return services.automation_run(automation=automation, payload=payload, wait=True)


def test_it_translates_each_tag_of_an_english_entry(
    automation, contentstack_standin, openai_standin
):
    execution = _run(automation, contentstack_standin, "en-us")
    assert execution.status == "succeeded", execution.error
    prompts = [r["messages"][-1]["content"] for r in openai_standin.chat_requests()]
    assert len(prompts) == 2 and prompts[0].endswith("news") and prompts[1].endswith("cats")
    gathered = execution.step_runs.get(step_key="translations").output
    assert gathered["tags"] == ["news", "cats"] and len(gathered["translations"]) == 2


def test_it_leaves_an_entry_in_another_language_alone(
    automation, contentstack_standin, openai_standin
):
    execution = _run(automation, contentstack_standin, "fr-fr")
    assert execution.status == "succeeded", execution.error
    assert openai_standin.chat_requests() == []
    assert execution.step_runs.get(step_key="each_tag").status == "skipped"
