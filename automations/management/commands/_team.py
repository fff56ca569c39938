"""Shared option of the automation commands: the team they act in."""

from __future__ import annotations

from django.core.management.base import CommandError

from accounts.models import Team


def add_team_argument(parser) -> None:
    parser.add_argument("--team", required=True, help="The slug of the team to act in.")


def get_team(slug: str) -> Team:
    team = Team.objects.filter(slug=slug).first()
    if team is None:
        raise CommandError(f"There is no team with the slug {slug!r}.")
    return team
