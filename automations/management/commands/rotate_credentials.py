"""Re-encrypt every stored secret under the newest key in ENCRYPTION_KEYS."""

from __future__ import annotations

from django.core.management.base import BaseCommand

from automations.services import secrets_rotate


class Command(BaseCommand):
    help = "Re-encrypt stored secrets (accounts, triggers, steps) with the newest key."

    def handle(self, *args, **options):
        count = secrets_rotate()
        self.stdout.write(f"Re-encrypted {count} rows.")
