"""Log lines written during a run name its execution and team, one line per event."""

from __future__ import annotations

import io
import json
import logging

import pytest

from automations import services
from automations.engine import start
from automations.models import Execution, Status
from config.logs import JsonFormatter
from tests.automations.factories import make_project
from tests.standins.server import Reply, Routes

pytestmark = pytest.mark.django_db


@pytest.fixture
def console():
    """The project's console handler, writing into a buffer for the test."""
    handler = next(h for h in logging.getLogger().handlers if h.get_name() == "console")
    buffer = io.StringIO()
    old_stream, old_formatter = handler.setStream(buffer), handler.formatter
    yield handler, buffer
    handler.setStream(old_stream)
    handler.setFormatter(old_formatter)


def _retrying_run(team, url: str) -> Execution:
    automation = services.automation_create(
        project=make_project(team),
        data={"name": "Flaky", "trigger": {"connector": "http", "trigger": "request", "config": {"method": "POST"}},
              "steps": [{"key": "call", "connector": "http", "action": "request",
                         "config": {"method": "GET", "url": url}}]},
    )  # fmt: skip
    services.automation_activate(automation=automation)
    execution = Execution.objects.create(
        automation=automation, status=Status.QUEUED, trigger_output={}
    )
    start.run_queued(execution.pk)
    return execution


def test_it_names_the_execution_and_team_on_a_line_written_during_a_run(console, team):
    handler, buffer = console
    with Routes({("GET", "/flaky"): [Reply(503, "busy"), Reply(200, {"ok": 1})]}) as server:
        execution = _retrying_run(team, server.url + "/flaky")
    line = next(line for line in buffer.getvalue().splitlines() if "Retrying step" in line)
    assert f"execution={execution.pk} team={team.pk} " in line


def test_it_writes_json_lines_when_asked(console, team):
    handler, buffer = console
    handler.setFormatter(JsonFormatter())
    with Routes({("GET", "/flaky"): [Reply(503, "busy"), Reply(200, {"ok": 1})]}) as server:
        execution = _retrying_run(team, server.url + "/flaky")
    lines = [json.loads(line) for line in buffer.getvalue().splitlines()]
    retry = next(line for line in lines if "Retrying step" in line["message"])
    assert retry["execution"] == str(execution.pk)
    assert retry["team"] == str(team.pk)


def test_it_keeps_a_traceback_on_one_line(console):
    handler, buffer = console
    try:
        raise ValueError("first\nsecond")
    except ValueError:
        logging.getLogger("switchboard.test").exception("Failed")
    assert len(buffer.getvalue().splitlines()) == 1
