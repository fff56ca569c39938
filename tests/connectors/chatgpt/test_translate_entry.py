from __future__ import annotations

import pytest

from tests.automations.factories import make_project
from tests.support.flows import Status, http_automation, run_now

pytestmark = pytest.mark.django_db

ENTRY = {
    "uid": "blt123", "title": "Spring gardening", "locale": "en-us", "_version": 3,
    "summary": "Ten tips", "views": 12, "url": "/blog/spring", "tags": ["garden"],
    "hero": {"uid": "bltasset", "url": "https://images.example.com/a.png"},
    "sections": [{"heading": "Soil", "body": "Dig deep"}],
}  # fmt: skip
SCHEMA = {"schema": [
    {"uid": "title", "data_type": "text"}, {"uid": "summary", "data_type": "text"},
    {"uid": "views", "data_type": "number"}, {"uid": "url", "data_type": "text"},
    {"uid": "hero", "data_type": "file"},
    {"uid": "sections", "data_type": "group", "multiple": True,
     "schema": [{"uid": "heading", "data_type": "text"}, {"uid": "body", "data_type": "text"}]},
]}  # fmt: skip


def translate(team, account, **config):
    step = {"key": "tr", "connector": "chatgpt", "action": "translate_entry", "account": account.pk,
            "config": {"model": "gpt-4o-mini", "entry": "{{ trigger.body.entry }}", "language": "German",
                       **config}}  # fmt: skip
    execution = run_now(
        http_automation(make_project(team), "Tr", [step]), {"body": {"entry": ENTRY}}
    )
    assert execution.status == Status.SUCCEEDED, execution.error
    return execution.step_runs.get().output


def test_it_translates_text_fields_by_schema_and_keeps_the_rest(
    team, chatgpt_account, openai_standin
):
    output = translate(team, chatgpt_account, content_type_schema=SCHEMA)
    entry = output["entry"]
    assert entry["title"] == "DE: Spring gardening" and entry["summary"] == "DE: Ten tips"
    assert entry["sections"] == [{"heading": "DE: Soil", "body": "DE: Dig deep"}]
    assert entry["url"] == "/blog/spring"  # a system key, though text
    for key in ("uid", "locale", "_version", "views", "tags", "hero"):
        assert entry[key] == ENTRY[key]
    sent = openai_standin.chat_requests()[0]
    assert sent["response_format"] == {"type": "json_object"}
    assert "German" in sent["messages"][0]["content"]


def test_without_a_schema_it_translates_prose_strings_only(team, chatgpt_account):
    entry = translate(team, chatgpt_account)["entry"]
    assert entry["title"] == "DE: Spring gardening" and entry["tags"] == ["garden"]
    assert entry["sections"][0]["body"] == "DE: Dig deep"
    assert entry["hero"] == ENTRY["hero"] and entry["uid"] == "blt123"


def test_a_translation_that_drops_fields_fails(team, chatgpt_account, openai_standin):
    openai_standin.translator = lambda text: text
    original = openai_standin._translate
    openai_standin._translate = lambda messages: dict(list(original(messages).items())[:1])
    step = {"key": "tr", "connector": "chatgpt", "action": "translate_entry", "account": chatgpt_account.pk,
            "config": {"model": "gpt-4o-mini", "entry": "{{ trigger.body.entry }}", "language": "German"}}  # fmt: skip
    execution = run_now(
        http_automation(make_project(team), "Bad", [step]), {"body": {"entry": ENTRY}}
    )
    assert execution.status == Status.FAILED
    assert "did not keep the entry's fields" in execution.error
