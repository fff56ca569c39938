from __future__ import annotations

import pytest

from accounts import services as account_services
from tests.standins.openai import OpenAIStandIn


@pytest.fixture
def openai_standin():
    with OpenAIStandIn(organization="org-standin") as server:
        yield server


@pytest.fixture
def chatgpt_account(team, openai_standin):
    return account_services.account_create(
        team=team, connector="chatgpt", title="ChatGPT",
        credentials={"api_key": openai_standin.api_key, "organization_id": "org-standin",
                     "base_url": openai_standin.base_url},
    )  # fmt: skip
