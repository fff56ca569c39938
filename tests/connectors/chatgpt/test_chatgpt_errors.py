from __future__ import annotations

import socket

import pytest

from accounts import services as account_services
from tests.automations.factories import make_project
from tests.connectors.chatgpt.test_chatgpt_chat import chat_step
from tests.standins.openai import error
from tests.standins.server import Reply
from tests.support.flows import Status, http_automation, run_now

pytestmark = pytest.mark.django_db


def ask(team, account, **config):
    automation = http_automation(make_project(team), "Ask", [chat_step(account, **config)])
    execution = run_now(automation, {"body": {"question": "hi"}})
    return execution, execution.step_runs.get()


def test_a_rate_limit_is_retried_honouring_retry_after(team, chatgpt_account, openai_standin):
    openai_standin.forced = [
        error(429, "Rate limit reached for gpt-4o-mini.", code="rate_limit_exceeded",
              kind="requests", headers={"Retry-After": "0.05"})
    ]  # fmt: skip
    execution, run = ask(team, chatgpt_account)
    assert execution.status == Status.SUCCEEDED, execution.error
    assert run.attempts == 2
    assert len(openai_standin.chat_requests()) == 2


def test_server_errors_are_retried_up_to_the_limit(team, chatgpt_account, openai_standin):
    openai_standin.forced = [error(500, "The server had an error.", kind="server_error")] * 3
    execution, run = ask(team, chatgpt_account)
    assert execution.status == Status.FAILED
    assert run.attempts == 3
    assert "OpenAI server error (500): The server had an error. (after 3 attempts)" in run.error


def test_a_bad_request_fails_at_once_with_openais_message(team, chatgpt_account, openai_standin):
    openai_standin.forced = [error(400, "Your request was rejected by our safety system.",
                                   code="content_policy_violation")]  # fmt: skip
    execution, run = ask(team, chatgpt_account)
    assert execution.status == Status.FAILED and run.attempts == 1
    assert "Your request was rejected by our safety system." in run.error


def test_an_unknown_model_says_which(team, chatgpt_account):
    execution, run = ask(team, chatgpt_account, model="gpt-9-imaginary")
    assert execution.status == Status.FAILED
    assert "Unknown model 'gpt-9-imaginary'" in run.error
    assert run.attempts == 1


def test_a_timeout_says_so(team, chatgpt_account, openai_standin, settings):
    settings.RUN_TIME_LIMIT = 0.5
    openai_standin.forced = [Reply(200, {}, delay=1.5)]
    execution, run = ask(team, chatgpt_account)
    assert execution.status in (Status.FAILED, Status.TIMED_OUT)
    assert "OpenAI did not answer in time" in run.error


def test_a_refused_key_says_so(team, chatgpt_account, openai_standin):
    openai_standin.api_key = "sk-test-revoked-since"
    execution, run = ask(team, chatgpt_account)
    assert execution.status == Status.FAILED and run.attempts == 1
    assert "OpenAI refused the credentials: Incorrect API key provided." in run.error


def test_an_answer_that_is_not_json_says_so(team, chatgpt_account, openai_standin):
    openai_standin.forced = [Reply(200, "<html>a proxy's page</html>")] * 3
    execution, run = ask(team, chatgpt_account)
    assert execution.status == Status.FAILED
    assert "OpenAI answered with something that is not JSON." in run.error


def _account(team, title, base_url):
    return account_services.account_create(
        team=team, connector="chatgpt", title=title,
        credentials={"api_key": "sk-test-0123456789abcdef", "base_url": base_url}, check=False,
    )  # fmt: skip


def test_a_base_url_at_a_private_address_is_refused(team):
    execution, run = ask(team, _account(team, "Private", "http://10.0.0.1/v1"))
    assert execution.status == Status.FAILED and run.attempts == 1
    assert "Refused to connect to 10.0.0.1: 10.0.0.1 is a private address." in run.error


def test_a_server_that_is_not_there_says_so(team):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # closed once the block ends: connection refused
    execution, run = ask(team, _account(team, "Gone", f"http://127.0.0.1:{port}/v1"))
    assert execution.status == Status.FAILED
    assert "Could not reach OpenAI: Connection error." in run.error
