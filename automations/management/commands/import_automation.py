from __future__ import annotations

import json
from pathlib import Path

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from automations import services
from automations.management.commands._team import add_team_argument, get_team
from automations.models import Project


class Command(BaseCommand):
    help = "Import an automation document (JSON) into a project of a team."

    def add_arguments(self, parser):
        parser.add_argument("file", help="The automation document, or - for standard input.")
        add_team_argument(parser)
        parser.add_argument("--project", required=True, help="Project name (made if missing).")
        parser.add_argument("--name", help="Import under this name instead.")

    def handle(self, *args, file: str, team: str, project: str, name: str | None, **options):
        team_obj = get_team(team)
        text = self.stdin.read() if file == "-" else _read(file)
        try:
            document = json.loads(text)
        except json.JSONDecodeError as exc:
            raise CommandError(f"{file} is not valid JSON: {exc}") from None
        project_obj, _ = Project.objects.get_or_create(team=team_obj, name=project)
        try:
            automation = services.automation_import(
                project=project_obj, document=document, name=name
            )
        except ValidationError as exc:
            lines = [f"  {path}: {'; '.join(msgs)}" for path, msgs in exc.message_dict.items()]
            raise CommandError("The document has problems:\n" + "\n".join(lines)) from None
        self.stdout.write(f"Imported automation {automation.pk} ({automation.name}).")


def _read(file: str) -> str:
    try:
        return Path(file).read_text()
    except OSError as exc:
        raise CommandError(f"Cannot read {file}: {exc.strerror}") from None
