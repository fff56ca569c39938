from __future__ import annotations

import json

from django.core.management.base import BaseCommand, CommandError
from django.http import Http404

from automations import selectors, services
from automations.management.commands._team import add_team_argument, get_team


class Command(BaseCommand):
    help = "Print an automation as a JSON document (secrets are never included)."

    def add_arguments(self, parser):
        parser.add_argument("id", type=int)
        add_team_argument(parser)

    def handle(self, *args, id: int, team: str, **options):
        try:
            automation = selectors.automation_get(team=get_team(team), pk=id)
        except Http404:
            raise CommandError(f"The team {team!r} has no automation {id}.") from None
        document = services.automation_export(automation=automation)
        self.stdout.write(json.dumps(document, indent=2, ensure_ascii=False))
