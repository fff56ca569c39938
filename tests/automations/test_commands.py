from __future__ import annotations

import json

import pytest
from django.core.management import CommandError, call_command

from automations.models import Automation
from tests.automations.test_documents import document

pytestmark = pytest.mark.django_db


def test_import_export_and_run_from_the_command_line(team, tmp_path, capsys):
    doc = document()
    doc["steps"] = [doc["steps"][1]]
    doc["steps"][0]["config"]["body"] = "Hi {{ trigger.body.name }}"
    source = tmp_path / "doc.json"
    source.write_text(json.dumps(doc))
    call_command("import_automation", str(source), team=team.slug, project="Imports")
    automation = Automation.objects.get(project__team=team, name="Translate")
    assert "Imported automation" in capsys.readouterr().out

    call_command("export_automation", automation.pk, team=team.slug)
    assert json.loads(capsys.readouterr().out) == doc

    payload = tmp_path / "payload.json"
    payload.write_text(json.dumps({"body": {"name": "Ada"}}))
    call_command("run_automation", automation.pk, team=team.slug, payload=str(payload))
    out = capsys.readouterr().out
    assert "1. reply: succeeded" in out
    assert '"body": "Hi Ada"' in out


def test_commands_act_only_in_the_named_team(team, other_team, tmp_path):
    source = tmp_path / "doc.json"
    source.write_text(json.dumps(document()))
    call_command("import_automation", str(source), team=team.slug, project="P")
    automation = Automation.objects.get()
    with pytest.raises(CommandError, match="has no automation"):
        call_command("export_automation", automation.pk, team=other_team.slug)
    with pytest.raises(CommandError, match="no team with the slug"):
        call_command("export_automation", automation.pk, team="ghost")


def test_import_reports_problems_with_paths(team, tmp_path):
    doc = document()
    doc["steps"][1]["config"]["status"] = 42
    source = tmp_path / "doc.json"
    source.write_text(json.dumps(doc))
    with pytest.raises(
        CommandError, match=r"steps\[1\].config.status: must be a number between 200 and 599"
    ):
        call_command("import_automation", str(source), team=team.slug, project="P")


def test_a_failed_run_exits_with_its_error(team, tmp_path):
    doc = document()
    doc["steps"] = [doc["steps"][1]]
    doc["steps"][0]["config"]["body"] = "{{ trigger.body.nothing }}"
    source = tmp_path / "doc.json"
    source.write_text(json.dumps(doc))
    call_command("import_automation", str(source), team=team.slug, project="P")
    with pytest.raises(CommandError, match="trigger.body.nothing does not exist"):
        call_command("run_automation", Automation.objects.get().pk, team=team.slug)
