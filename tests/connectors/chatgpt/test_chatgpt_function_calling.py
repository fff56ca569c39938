from __future__ import annotations

import pytest

from automations import services
from automations.models import Execution
from connectors.chatgpt.functions import input_schema, tool_names
from tests.automations.factories import make_project
from tests.support.flows import Status, http_automation, reply_step, run_now, sub_automation

pytestmark = pytest.mark.django_db

TEXT = [{"key": "text", "type": "string", "required": True, "description": "Text"}]


def fc_step(account, names, **config):
    return {"key": "choose", "connector": "chatgpt", "action": "function_calling", "account": account.pk,
            "config": {"model": "gpt-4o-mini", "sub_automations": names,
                       "messages": [{"role": "user", "content": "{{ trigger.body.text }}"}], **config}}  # fmt: skip


@pytest.fixture
def project(team):
    project = make_project(team)
    sub_automation(
        project, "Shout", "Upper-cases text.", TEXT, [reply_step("{{ trigger.text | upper }}")]
    )
    sub_automation(project, "Echo back!", "Repeats text.", TEXT, [reply_step("{{ trigger.text }}")])
    return project


def test_tool_names_are_made_safe_and_unique():
    names = tool_names(["Echo back!", "Echo back?", "x" * 80, "√"])
    assert names == {"Echo back!": "Echo_back", "Echo back?": "Echo_back_2", "x" * 80: "x" * 64,
                     "√": "sub_automation"}  # fmt: skip
    schema = input_schema(
        TEXT + [{"key": "n", "type": "integer", "required": False, "description": ""}]
    )
    assert schema == {"type": "object", "properties": {"text": {"type": "string", "description": "Text"},
                                                        "n": {"type": "integer"}},
                      "required": ["text"], "additionalProperties": False}  # fmt: skip


def test_it_outputs_the_chosen_sub_automation(project, chatgpt_account, openai_standin):
    openai_standin.tool_to_call = "Echo_back"
    execution = run_now(http_automation(project, "FC", [fc_step(chatgpt_account, ["Shout", "Echo back!"])]),
                        {"body": {"text": "hello"}})  # fmt: skip
    output = execution.step_runs.get().output
    assert output["function_name"] == "Echo back!"
    assert output["arguments"] == {"text": "hello"}
    assert output["tool_call_id"].startswith("call_")
    assert output["messages"][-1]["tool_calls"][0]["function"]["name"] == "Echo_back"
    assert output["content"] is None


def test_when_no_tool_is_chosen_it_outputs_the_text(project, chatgpt_account, openai_standin):
    openai_standin.tool_to_call = None
    execution = run_now(http_automation(project, "FC", [fc_step(chatgpt_account, ["Shout"])]),
                        {"body": {"text": "just chat"}})  # fmt: skip
    output = execution.step_runs.get().output
    assert output["function_name"] is None and output["content"] == "Echo: just chat"


def test_function_calling_response_needs_a_chosen_tool(project, chatgpt_account, openai_standin):
    openai_standin.tool_to_call = None
    steps = [fc_step(chatgpt_account, ["Shout"]),
             {"key": "final", "connector": "chatgpt", "action": "function_calling_response",
              "account": chatgpt_account.pk,
              "config": {"model": "gpt-4o-mini", "function_calling": "{{ steps.choose }}",
                         "sub_automation_response": "none"}}]  # fmt: skip
    execution = run_now(http_automation(project, "FCR", steps), {"body": {"text": "x"}})
    assert execution.status == Status.FAILED
    assert "chose no sub automation" in execution.error


def test_bad_arguments_for_the_chosen_sub_automation_fail_clearly(
    project, chatgpt_account, openai_standin
):
    openai_standin.tool_to_call = "Shout"
    openai_standin.tool_arguments = {"txt": 5}
    steps = [fc_step(chatgpt_account, ["Shout"]),
             {"key": "run", "connector": "sub_automation", "action": "run",
              "config": {"sub_automation": "{{ steps.choose.function_name }}",
                         "arguments": "{{ steps.choose.arguments }}"}}]  # fmt: skip
    execution = run_now(http_automation(project, "Bad", steps), {"body": {"text": "x"}})
    assert execution.status == Status.FAILED
    run = execution.step_runs.get(step_key="run")
    assert (
        "text: is required" in run.error
        and "txt: is not an input of this sub automation" in run.error
    )
    assert not execution.children.exists()


def test_arguments_that_are_not_json_fail_clearly(project, chatgpt_account, openai_standin):
    openai_standin.tool_to_call = "Shout"
    openai_standin.tool_arguments = '{"text": "unterminated'
    execution = run_now(http_automation(project, "NotJson", [fc_step(chatgpt_account, ["Shout"])]),
                        {"body": {"text": "x"}})  # fmt: skip
    assert "arguments that are not JSON" in execution.error


def test_an_unknown_sub_automation_is_named(project, chatgpt_account):
    gone = sub_automation(project, "Nope", "", [], [reply_step("x")])
    main = http_automation(project, "Missing", [fc_step(chatgpt_account, ["Nope"])])
    services.automation_delete(automation=gone)  # deleted after the parent was activated
    execution = run_now(main, {"body": {"text": "x"}})
    assert "No sub automation named 'Nope' in this project" in execution.error


@pytest.mark.django_db(transaction=True)
def test_auto_run_runs_the_calls_and_loops_to_a_final_answer(team, chatgpt_account, openai_standin):
    project = make_project(team, "Auto")
    sub_automation(
        project, "Shout", "Upper-cases text.", TEXT, [reply_step("{{ trigger.text | upper }}")]
    )
    sub_automation(project, "Echo back!", "Repeats text.", TEXT, [reply_step("{{ trigger.text }}")])
    rounds = []

    def two_calls_then_text(body):
        rounds.append(1)
        return {"text": "hi"}

    openai_standin.tool_to_call = "Shout"
    openai_standin.tool_arguments = two_calls_then_text
    execution = run_now(http_automation(project, "Auto", [fc_step(chatgpt_account, ["Shout", "Echo back!"], auto_run=True)]),
                        {"body": {"text": "hi"}})  # fmt: skip
    assert execution.status == Status.SUCCEEDED, execution.error
    output = execution.step_runs.get().output
    assert output["content"] == "Final: HI"
    assert output["calls"] == [{"tool_call_id": output["calls"][0]["tool_call_id"], "function_name": "Shout",
                                "arguments": {"text": "hi"}, "result": "HI", "round": 1}]  # fmt: skip
    assert output["rounds"] == 2
    assert Execution.objects.filter(parent=execution).count() == 1


@pytest.mark.django_db(transaction=True)
def test_auto_run_runs_several_calls_of_one_turn_in_parallel(team, chatgpt_account, openai_standin):
    import json

    from tests.standins.server import Reply

    project = make_project(team, "Parallel")
    slow = [{"key": "wait", "connector": "http", "action": "request",
             "config": {"method": "GET", "url": openai_standin.url + "/files/slow.png"}},
            reply_step("{{ trigger.text }}")]  # fmt: skip
    sub_automation(project, "Slow A", "A", TEXT, slow)
    sub_automation(project, "Slow B", "B", TEXT, slow)
    calls = [{"id": f"call_{n}", "type": "function",
              "function": {"name": name, "arguments": json.dumps({"text": name})}}
             for n, name in enumerate(["Slow_A", "Slow_B"])]  # fmt: skip
    turn = {"id": "c1", "object": "chat.completion", "created": 1, "model": "gpt-4o-mini",
            "choices": [{"index": 0, "finish_reason": "tool_calls",
                         "message": {"role": "assistant", "content": None, "tool_calls": calls}}],
            "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}}  # fmt: skip
    openai_standin.forced = [Reply(200, turn)]
    original = openai_standin.handle
    import threading

    # Each call waits until the other one has arrived: run one after the other, they
    # would never meet, and the barrier's timeout fails the step.
    both_arrived = threading.Barrier(2, timeout=5)

    def meeting_files(request):
        if request.path == "/files/slow.png":
            try:
                both_arrived.wait()
            except threading.BrokenBarrierError:
                return Reply(400, "the calls did not overlap")
            return Reply(200, b"x", headers={"Content-Type": "image/png"})
        return original(request)

    openai_standin.handle = meeting_files
    execution = run_now(http_automation(project, "Par", [fc_step(chatgpt_account, ["Slow A", "Slow B"], auto_run=True)]),
                        {"body": {"text": "go"}})  # fmt: skip
    assert execution.status == Status.SUCCEEDED, execution.error
    output = execution.step_runs.get().output
    assert [c["result"] for c in output["calls"]] == ["Slow_A", "Slow_B"]
    assert Execution.objects.filter(parent=execution).count() == 2
