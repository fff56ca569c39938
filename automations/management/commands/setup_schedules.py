"""Declare the platform's django-q2 schedules in code; safe to run again and again."""

from __future__ import annotations

from django.core.management.base import BaseCommand

from automations.schedules import schedules_ensure


class Command(BaseCommand):
    help = "Create or update the platform's recurring django-q2 schedules."

    def handle(self, *args, **options):
        for name in schedules_ensure():
            if options["verbosity"]:
                self.stdout.write(f"Schedule ready: {name}")
