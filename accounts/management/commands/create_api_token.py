"""Make an API token for a user and print it, once: only its hash is kept."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from accounts.tokens import token_create


class Command(BaseCommand):
    help = "Make an API token for USERNAME and print it once (Authorization: Token <token>)."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--name", required=True, help="what the token is for")
        parser.add_argument("--read-only", action="store_true", help="the token can only read")

    def handle(self, *args, **options):
        user = get_user_model().objects.filter(username=options["username"]).first()
        if user is None:
            raise CommandError(f"There is no user {options['username']!r}.")
        _, key = token_create(user=user, name=options["name"], read_only=options["read_only"])
        self.stdout.write(key)
