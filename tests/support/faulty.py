"""A connector for tests of what the runner does when a step misbehaves: it raises an
unexpected exception, returns what no database stores, or its process stops mid-step
(SystemExit stands for the process being killed: nothing after it runs)."""

from __future__ import annotations

from typing import Any

from connectors import fields as f
from connectors.base import Action, Connector, RunContext


class CrashAction(Action):
    key = "crash"
    label = "Crash"

    def run(self, params: dict[str, Any], context: RunContext) -> dict[str, Any]:
        raise RuntimeError("internal detail 0xdeadbeef")


class StopAction(Action):
    key = "stop"
    label = "Stop the process (with side effects)"

    def run(self, params: dict[str, Any], context: RunContext) -> dict[str, Any]:
        raise SystemExit(1)


class PureStopAction(StopAction):
    key = "pure_stop"
    label = "Stop the process (no side effects)"
    side_effects = False
    idempotent = True


class HugeNumberAction(Action):
    key = "huge_number"
    label = "A number of 5000 digits"
    side_effects = False
    fields = (f.Field("digits", "Digits", type=f.INTEGER, default=5000, required=False),)

    def run(self, params: dict[str, Any], context: RunContext) -> dict[str, Any]:
        return {"n": 10 ** (params.get("digits") or 5000), "ok": True}


class FaultyConnector(Connector):
    key = "faulty"
    label = "Faulty"
    actions = (CrashAction, StopAction, PureStopAction, HugeNumberAction)
