"""Plans, HTTP connections and the guard's work are reused between runs, credentials
never: an account's changed key, organization or base URL is what the very next run
sends (through the webhook's cached plan)."""

from __future__ import annotations

import pytest

from accounts import services as account_services
from tests.automations.factories import make_project
from tests.connectors.chatgpt.test_chatgpt_chat import chat_step
from tests.standins.openai import OpenAIStandIn
from tests.support.flows import http_automation, reply_step

pytestmark = pytest.mark.django_db

NEW_KEY = "sk-test-fedcba9876543210"


@pytest.fixture
def ask(client, team, chatgpt_account):
    steps = [chat_step(chatgpt_account), reply_step("{{ steps.chat.content }}")]
    automation = http_automation(make_project(team), "Ask", steps)

    def post():
        return client.post(
            f"/hooks/{automation.webhook_token}/", {"question": "hi"}, "application/json"
        )

    return post


def test_a_changed_api_key_is_sent_by_the_next_run(ask, chatgpt_account, openai_standin):
    assert ask().status_code == 200
    openai_standin.api_key = NEW_KEY  # the old key is revoked
    assert ask().status_code == 502
    account_services.account_update(
        account=chatgpt_account, credentials={"api_key": NEW_KEY}, check=False
    )
    response = ask()
    assert response.status_code == 200, response.content
    assert openai_standin.received[-1].headers["authorization"] == f"Bearer {NEW_KEY}"


def test_a_changed_organization_is_sent_by_the_next_run(ask, chatgpt_account, openai_standin):
    assert ask().status_code == 200
    openai_standin.organization = "org-moved"
    account_services.account_update(
        account=chatgpt_account, credentials={"organization_id": "org-moved"}, check=False
    )
    assert ask().status_code == 200
    assert openai_standin.received[-1].headers["openai-organization"] == "org-moved"


def test_a_changed_base_url_is_where_the_next_run_goes(ask, chatgpt_account, openai_standin):
    assert ask().status_code == 200
    with OpenAIStandIn(api_key=NEW_KEY) as elsewhere:
        account_services.account_update(
            account=chatgpt_account,
            credentials={"base_url": elsewhere.base_url, "api_key": NEW_KEY},
            check=False,
        )
        before = len(openai_standin.received)
        response = ask()
        assert response.status_code == 200, response.content
        assert len(elsewhere.chat_requests()) == 1
    assert len(openai_standin.received) == before
