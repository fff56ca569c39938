from __future__ import annotations

import pytest

from tests.automations.factories import make_project
from tests.support.flows import Status, http_automation, run_now

pytestmark = pytest.mark.django_db


def chat_step(account, **config):
    return {"key": "chat", "connector": "chatgpt", "action": "chat", "account": account.pk,
            "config": {"model": "gpt-4o-mini",
                       "messages": [{"role": "system", "content": "Be brief."},
                                    {"role": "user", "content": "{{ trigger.body.question }}"}],
                       **config}}  # fmt: skip


def test_chat_sends_the_conversation_and_returns_the_answer(team, chatgpt_account, openai_standin):
    automation = http_automation(
        make_project(team), "Ask", [chat_step(chatgpt_account, temperature=0.3, n=2, max_tokens=50)]
    )
    execution = run_now(automation, {"body": {"question": "Why is the sky blue?"}})
    assert execution.status == Status.SUCCEEDED, execution.error
    sent = openai_standin.chat_requests()[0]
    assert sent["messages"][1] == {"role": "user", "content": "Why is the sky blue?"}
    assert sent["temperature"] == 0.3 and sent["n"] == 2 and sent["max_tokens"] == 50
    output = execution.step_runs.get().output
    assert output["content"] == "Echo: Why is the sky blue?"
    assert len(output["choices"]) == 2
    assert output["usage"] == {"prompt_tokens": 20, "completion_tokens": 7, "total_tokens": 27}


def test_tokens_are_recorded_per_step_and_summed(team, chatgpt_account):
    steps = [chat_step(chatgpt_account), {**chat_step(chatgpt_account), "key": "again"}]
    execution = run_now(
        http_automation(make_project(team), "Twice", steps), {"body": {"question": "hi"}}
    )
    assert [r.tokens_used for r in execution.step_runs.all()] == [27, 27]
    assert execution.tokens_used == 54


def test_the_key_and_organization_are_sent_and_never_logged(team, chatgpt_account, openai_standin):
    execution = run_now(http_automation(make_project(team), "Ask", [chat_step(chatgpt_account)]),
                        {"body": {"question": "hi"}})  # fmt: skip
    headers = openai_standin.received[-1].headers
    assert headers["authorization"] == f"Bearer {openai_standin.api_key}"
    assert headers["openai-organization"] == "org-standin"
    run = execution.step_runs.get()
    assert openai_standin.api_key not in str(run.input) + str(run.output)


def test_json_and_structured_output_formats(team, chatgpt_account, openai_standin):
    schema = {"type": "object", "properties": {"a": {"type": "string"}}, "required": ["a"]}
    steps = [chat_step(chatgpt_account, response_format="json"),
             {**chat_step(chatgpt_account, response_format="json_schema", json_schema=schema), "key": "s"}]  # fmt: skip
    run_now(
        http_automation(make_project(team), "Json", steps), {"body": {"question": '{"a": "x"}'}}
    )
    first, second = openai_standin.chat_requests()
    assert first["response_format"] == {"type": "json_object"}
    assert second["response_format"]["json_schema"]["schema"] == schema


def test_prompt_action(team, chatgpt_account, openai_standin):
    step = {"key": "p", "connector": "chatgpt", "action": "prompt", "account": chatgpt_account.pk,
            "config": {"model": "gpt-4o", "prompt": "Name a colour"}}  # fmt: skip
    execution = run_now(http_automation(make_project(team), "Prompt", [step]))
    assert openai_standin.chat_requests()[0]["messages"] == [
        {"role": "user", "content": "Name a colour"}
    ]
    assert execution.step_runs.get().output["content"] == "Echo: Name a colour"


def test_chat_with_vision_sends_image_parts(team, chatgpt_account, openai_standin):
    content = [{"type": "text", "text": "What is in this picture?"},
               {"type": "image_url", "image_url": {"url": "https://example.com/cat.png"}}]  # fmt: skip
    step = {"key": "v", "connector": "chatgpt", "action": "chat_with_vision", "account": chatgpt_account.pk,
            "config": {"model": "gpt-4o", "messages": [{"role": "user", "content": content}]}}  # fmt: skip
    execution = run_now(http_automation(make_project(team), "Vision", [step]))
    assert execution.status == Status.SUCCEEDED, execution.error
    assert openai_standin.chat_requests()[0]["messages"][0]["content"] == content


def test_vision_refuses_an_image_part_without_a_url(team, chatgpt_account):
    content = [{"type": "image_url", "image_url": {"url": "file:///etc/passwd"}}]
    step = {"key": "v", "connector": "chatgpt", "action": "chat_with_vision", "account": chatgpt_account.pk,
            "config": {"model": "gpt-4o", "messages": [{"role": "user", "content": content}]}}  # fmt: skip
    execution = run_now(http_automation(make_project(team), "Vision", [step]))
    assert execution.status == Status.FAILED
    assert "image part needs an http(s) or data: URL" in execution.error


def test_a_range_error_is_caught_before_any_call(team, chatgpt_account, openai_standin):
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError) as caught:
        http_automation(make_project(team), "Hot", [chat_step(chatgpt_account, temperature=3)])
    assert caught.value.message_dict == {
        "steps[0].config.temperature": ["must be a number between 0 and 2"]
    }
    assert openai_standin.chat_requests() == []
