from __future__ import annotations

import json
from pathlib import Path

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.http import Http404

from automations import selectors, services
from automations.management.commands._team import add_team_argument, get_team
from automations.models import Status


class Command(BaseCommand):
    help = "Run an automation now, in this process, and print its execution log."

    def add_arguments(self, parser):
        parser.add_argument("id", type=int)
        add_team_argument(parser)
        parser.add_argument("--payload", help="A JSON file used as the trigger's output.")

    def handle(self, *args, id: int, team: str, payload: str | None, **options):
        try:
            automation = selectors.automation_get(team=get_team(team), pk=id)
        except Http404:
            raise CommandError(f"The team {team!r} has no automation {id}.") from None
        data = {}
        if payload:
            try:
                data = json.loads(Path(payload).read_text())
            except OSError as exc:
                raise CommandError(f"Cannot read {payload}: {exc.strerror}") from None
            except json.JSONDecodeError as exc:
                raise CommandError(f"{payload} is not valid JSON: {exc}") from None
        try:
            execution = services.automation_run(automation=automation, payload=data, wait=True)
        except ValidationError as exc:
            raise CommandError("; ".join(exc.messages)) from None
        for run in execution.step_runs.order_by("position"):
            line = f"{run.position + 1}. {run.step_key}: {run.status} in {run.duration_ms} ms"
            self.stdout.write(line + (f" - {run.error}" if run.error else ""))
        self.stdout.write(f"Execution {execution.pk}: {execution.status}")
        if execution.response is not None:
            self.stdout.write(json.dumps(execution.response, indent=2, ensure_ascii=False))
        if execution.status != Status.SUCCEEDED:
            raise CommandError(execution.error or "The run failed.")
