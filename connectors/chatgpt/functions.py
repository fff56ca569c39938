"""Function Calling over sub automations, and Function Calling Response.

Each chosen sub automation becomes a tool: a name the API accepts, its description, and
a JSON schema of its declared inputs. With ``auto_run`` the step runs the chosen sub
automations itself (several calls of one turn in parallel), feeds their answers back and
loops until the model answers in text, so one step does the work of three.
"""

from __future__ import annotations

import json
import re
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from connectors import fields as f
from connectors.base import Action, ConnectorError, RunContext
from connectors.chatgpt.chat import MAX_TOKENS, MESSAGES, MODEL, TEMPERATURE, complete

_UNSAFE = re.compile(r"[^a-zA-Z0-9_-]+")
MAX_PARALLEL = 4


def tool_names(names: list[str]) -> dict[str, str]:
    """Sub automation name -> a unique tool name matching ^[a-zA-Z0-9_-]{1,64}$."""
    taken: dict[str, str] = {}
    for name in names:
        base = _UNSAFE.sub("_", name).strip("_")[:64] or "sub_automation"
        candidate, n = base, 2
        while candidate in taken.values():
            suffix = f"_{n}"
            candidate, n = base[: 64 - len(suffix)] + suffix, n + 1
        taken[name] = candidate
    return taken


def input_schema(rows: list[dict[str, Any]]) -> dict[str, Any]:
    properties = {}
    for row in rows:
        prop: dict[str, Any] = {"type": row["type"]}
        if row.get("description"):
            prop["description"] = row["description"]
        properties[row["key"]] = prop
    return {
        "type": "object",
        "properties": properties,
        "required": [row["key"] for row in rows if row.get("required")],
        "additionalProperties": False,
    }


def build_tools(context: RunContext, names: list[str]) -> tuple[list[dict], dict[str, str]]:
    """The tools for the request, and tool name -> sub automation name."""
    if context.list_sub_automations is None:
        raise ConnectorError("Sub automations cannot be called here.")
    described = context.list_sub_automations(names)
    mapping = tool_names([d["name"] for d in described])
    tools = [
        {
            "type": "function",
            "function": {
                "name": mapping[d["name"]],
                "description": (d["description"] or f"Runs the sub automation {d['name']}.")[:1024],
                "parameters": input_schema(d["schema"]),
            },
        }
        for d in described
    ]
    return tools, {tool: name for name, tool in mapping.items()}


def _arguments(raw: str, tool: str) -> dict[str, Any]:
    try:
        arguments = json.loads(raw or "{}")
    except json.JSONDecodeError:
        raise ConnectorError(
            f"The model called {tool} with arguments that are not JSON: {raw[:200]!r}"
        ) from None
    if not isinstance(arguments, dict):
        raise ConnectorError(f"The model called {tool} with arguments that are not an object.")
    return arguments


def _calls(message: dict[str, Any], by_tool: dict[str, str]) -> list[dict[str, Any]]:
    calls = []
    for call in message.get("tool_calls") or []:
        tool = call["function"]["name"]
        if tool not in by_tool:
            raise ConnectorError(
                f"The model called {tool!r}, which is not one of the tools offered."
            )
        calls.append(
            {
                "tool_call_id": call["id"],
                "function_name": by_tool[tool],
                "arguments": _arguments(call["function"].get("arguments", ""), tool),
            }
        )
    return calls


def tool_message(tool_call_id: str, result: Any) -> dict[str, str]:
    content = result if isinstance(result, str) else json.dumps(result, ensure_ascii=False)
    return {"role": "tool", "tool_call_id": tool_call_id, "content": content}


def _sum_usage(total: dict[str, int], usage: dict[str, int]) -> dict[str, int]:
    return {key: total.get(key, 0) + usage.get(key, 0) for key in set(total) | set(usage)}


class FunctionCallingAction(Action):
    key = "function_calling"
    side_effects = False
    idempotent = True
    sub_automations_field = "sub_automations"
    label = "Function Calling"
    description = "Let ChatGPT choose the sub automation that fits the request best."
    needs_account = True
    fields = (
        MODEL,
        MESSAGES,
        f.Field("sub_automations", "Sub automations", type=f.SUB_AUTOMATIONS,
                help="The sub automations of this project that ChatGPT may choose from."),
        MAX_TOKENS,
        TEMPERATURE,
        f.Field("auto_run", "Run the chosen sub automations", type=f.BOOLEAN, required=False,
                default=False, help="Run them here, give ChatGPT their answers and return its "
                "final text: Sub Automation and Function Calling Response steps are not needed."),
        f.Field("max_rounds", "Rounds at most", type=f.INTEGER, required=False, default=5,
                minimum=1, maximum=10),
    )  # fmt: skip

    def has_side_effects(self, params: dict[str, Any]) -> bool:
        # Running the chosen sub automations does whatever their steps do.
        return bool(params.get("auto_run"))

    def is_idempotent(self, params: dict[str, Any]) -> bool:
        return not params.get("auto_run")

    def run(self, params: dict[str, Any], context: RunContext) -> dict[str, Any]:
        tools, by_tool = build_tools(context, params["sub_automations"])
        options = {k: params[k] for k in ("max_tokens", "temperature") if params.get(k) is not None}
        messages = list(params["messages"])
        if params.get("auto_run"):
            return self._auto_run(params, context, tools, by_tool, messages, options)
        answer = complete(
            context, params["model"], messages, tools=tools, tool_choice="auto", **options
        )
        message = answer["choices"][0]["message"]
        calls = _calls(message, by_tool)
        first = calls[0] if calls else {}
        return {
            "function_name": first.get("function_name"),
            "arguments": first.get("arguments", {}),
            "tool_call_id": first.get("tool_call_id"),
            "tool_calls": calls,
            "content": answer["content"],
            "messages": [*messages, message],
            "tools": tools,
            "usage": answer["usage"],
            "model": answer["model"],
        }

    def _auto_run(self, params, context, tools, by_tool, messages, options) -> dict[str, Any]:
        if context.run_sub_automation is None:
            raise ConnectorError("Sub automations cannot be run here.")
        record: list[dict[str, Any]] = []
        usage: dict[str, int] = {}
        for round_number in range(1, params["max_rounds"] + 1):
            answer = complete(
                context, params["model"], messages, tools=tools, tool_choice="auto", **options
            )
            usage = _sum_usage(usage, answer["usage"])
            message = answer["choices"][0]["message"]
            calls = _calls(message, by_tool)
            messages = [*messages, message]
            if not calls:
                return {
                    "content": answer["content"], "calls": record, "rounds": round_number,
                    "messages": messages, "usage": usage, "model": answer["model"],
                    "function_name": record[-1]["function_name"] if record else None,
                }  # fmt: skip
            results = self._run_calls(context, calls)
            for call, result in zip(calls, results, strict=True):
                record.append({**call, "result": result, "round": round_number})
                messages.append(tool_message(call["tool_call_id"], result))
        raise ConnectorError(
            f"ChatGPT was still calling sub automations after {params['max_rounds']} rounds."
        )

    def _run_calls(self, context: RunContext, calls: list[dict[str, Any]]) -> list[Any]:
        def run(call: dict[str, Any]) -> Any:
            return context.run_sub_automation(call["function_name"], call["arguments"])

        if len(calls) == 1:
            return [run(calls[0])]
        with ThreadPoolExecutor(max_workers=min(MAX_PARALLEL, len(calls))) as pool:
            return list(pool.map(run, calls))


class FunctionCallingResponseAction(Action):
    key = "function_calling_response"
    # Costs tokens but changes nothing outside the run; asking again is safe.
    side_effects = False
    idempotent = True
    label = "Function Calling Response"
    description = "Turn a sub automation's answer into ChatGPT's final text."
    needs_account = True
    fields = (
        MODEL,
        f.Field("function_calling", "Function Calling", type=f.JSON, object_only=True,
                help="The Function Calling step's output, e.g. {{ steps.choose }}."),
        f.Field("sub_automation_response", "Sub Automation Response", type=f.ANY,
                help="The Sub Automation step's output, e.g. {{ steps.run }}."),
        MAX_TOKENS,
        TEMPERATURE,
    )  # fmt: skip

    def run(self, params: dict[str, Any], context: RunContext) -> dict[str, Any]:
        calling = params["function_calling"]
        call_id = calling.get("tool_call_id")
        history = calling.get("messages")
        if not call_id:
            raise ConnectorError(
                "The Function Calling step chose no sub automation, so there is no answer to "
                "give back.", field="function_calling",
            )  # fmt: skip
        if not isinstance(history, list) or not history:
            raise ConnectorError(
                "This is not a Function Calling output: it has no messages.",
                field="function_calling",
            )
        messages = [*history, tool_message(call_id, params["sub_automation_response"])]
        # The API wants an answer for every call of the turn; only the first one was run.
        for extra in (calling.get("tool_calls") or [])[1:]:
            messages.append(tool_message(extra["tool_call_id"], "This call was not run."))
        options = {k: params[k] for k in ("max_tokens", "temperature") if params.get(k) is not None}
        if calling.get("tools"):
            options["tools"] = calling["tools"]
        answer = complete(context, params["model"], messages, **options)
        return {"content": answer["content"], "usage": answer["usage"], "model": answer["model"]}
