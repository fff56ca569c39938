"""Use case 1 of the seed, built through the API as a user would: an HTTP trigger;
Function Calling picks the translator among several sub automations; the Sub Automation
step runs it; Function Calling Response turns its answer into a string; Response sends
it back to the caller."""

from __future__ import annotations

import pytest

from automations.models import Execution, Status
from tests.conftest import api_for
from tests.standins.openai import OpenAIStandIn

pytestmark = pytest.mark.django_db


def post(client, url, body):
    response = client.post(url, body, format="json")
    assert response.status_code in (200, 201), response.content
    return response.json()


def sub_automation(client, project, name, description, steps):
    automation = post(client, "/api/v1/automations/", {
        "project": project, "name": name,
        "trigger": {"connector": "sub_automation", "trigger": "called",
                    "config": {"description": description,
                               "schema": [{"key": "text", "type": "string", "required": True,
                                           "description": "The text to work on"}]}},
        "steps": steps,
    })  # fmt: skip
    post(client, f"/api/v1/automations/{automation['id']}/activate/", {})
    return automation


@pytest.fixture
def built(owner, team):
    with OpenAIStandIn() as openai:
        client = api_for(owner)
        account = post(client, "/api/v1/accounts/", {
            "connector": "chatgpt", "title": "My ChatGPT",
            "credentials": {"api_key": openai.api_key, "organization_id": "org-1",
                            "base_url": openai.base_url},
        })  # fmt: skip
        project = post(client, "/api/v1/projects/", {"name": "Translations"})["id"]
        sub_automation(client, project, "German translator", "Translates text into German.", [
            {"key": "translate", "connector": "chatgpt", "action": "chat", "account": account["id"],
             "config": {"model": "gpt-4o-mini", "messages": [
                 {"role": "system", "content": "Translate the user's text into German."},
                 {"role": "user", "content": "{{ trigger.text }}"}]}},
            {"key": "answer", "connector": "response", "action": "respond",
             "config": {"body": "{{ steps.translate.content }}"}},
        ])  # fmt: skip
        sub_automation(client, project, "Word counter", "Counts the words of a text.", [
            {"key": "answer", "connector": "response", "action": "respond",
             "config": {"body": {"words": "{{ trigger.text }}"}}},
        ])  # fmt: skip
        main = post(client, "/api/v1/automations/", {
            "project": project, "name": "Translate via Function Calling",
            "trigger": {"connector": "http", "trigger": "request", "config": {"method": "POST"}},
            "steps": [
                {"key": "choose", "name": "Function Calling", "connector": "chatgpt",
                 "action": "function_calling", "account": account["id"],
                 "config": {"model": "gpt-4o-mini",
                            "messages": [{"role": "user", "content": "Translate to German language: {{ trigger.body.text }}"}],
                            "sub_automations": ["German translator", "Word counter"]}},
                {"key": "run", "name": "Sub Automation", "connector": "sub_automation", "action": "run",
                 "config": {"sub_automation": "{{ steps.choose.function_name }}",
                            "arguments": "{{ steps.choose.arguments }}"}},
                {"key": "final", "name": "Function Calling Response", "connector": "chatgpt",
                 "action": "function_calling_response", "account": account["id"],
                 "config": {"model": "gpt-4o-mini", "function_calling": "{{ steps.choose }}",
                            "sub_automation_response": "{{ steps.run }}"}},
                {"key": "reply", "name": "Response", "connector": "response", "action": "respond",
                 "config": {"status": 200, "body": "{{ steps.final.content }}",
                            "headers": [{"key": "X-Translated", "value": "yes"}]}},
            ],
        })  # fmt: skip
        post(client, f"/api/v1/automations/{main['id']}/activate/", {})
        openai.tool_to_call = "German_translator"
        openai.tool_arguments = {"text": "Good morning"}
        yield {"openai": openai, "main": main, "client": client}


def test_the_caller_gets_the_translated_string(built, client):
    openai, main = built["openai"], built["main"]
    response = client.post(main["webhook_url"].replace("http://testserver", ""),
                           {"text": "Good morning"}, content_type="application/json")  # fmt: skip
    assert response.status_code == 200, response.content
    # Function Calling Response's answer, made from the translator's own ChatGPT answer.
    assert response.content.decode() == "Final: Echo: Good morning"
    assert response["X-Translated"] == "yes"

    first, inner, last = openai.chat_requests()
    assert [t["function"]["name"] for t in first["tools"]] == ["German_translator", "Word_counter"]
    assert first["tools"][0]["function"]["description"] == "Translates text into German."
    assert first["tools"][0]["function"]["parameters"]["required"] == ["text"]
    assert first["messages"][0]["content"] == "Translate to German language: Good morning"
    assert inner["messages"][-1] == {"role": "user", "content": "Good morning"}
    call = last["messages"][-2]["tool_calls"][0]
    assert last["messages"][-1] == {
        "role": "tool",
        "tool_call_id": call["id"],
        "content": "Echo: Good morning",
    }

    execution = Execution.objects.get(automation_id=main["id"])
    assert execution.status == Status.SUCCEEDED
    runs = list(execution.step_runs.order_by("position"))
    assert [r.step_key for r in runs] == ["choose", "run", "final", "reply"]
    assert runs[0].output["function_name"] == "German translator"
    assert runs[1].output == "Echo: Good morning"
    child = execution.children.get()
    assert child.automation.name == "German translator"
    assert child.trigger_output == {"text": "Good morning"}
    assert [r.step_key for r in child.step_runs.order_by("position")] == ["translate", "answer"]
    assert execution.tokens_used == 27 * 3


def test_the_execution_log_is_readable_through_the_api(built, client):
    main, api = built["main"], built["client"]
    client.post(
        main["webhook_url"].replace("http://testserver", ""),
        {"text": "Hi"},
        content_type="application/json",
    )
    listing = api.get("/api/v1/executions/", {"automation": main["id"]}).json()
    detail = api.get(f"/api/v1/executions/{listing['results'][0]['id']}/").json()
    assert [r["step_key"] for r in detail["step_runs"]] == ["choose", "run", "final", "reply"]
    assert len(detail["children"]) == 1
