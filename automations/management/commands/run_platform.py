"""Run the whole platform on one machine: migrations, a first admin, the web server and
a django-q2 worker, stopped together on Ctrl-C."""

from __future__ import annotations

import secrets
import signal
import subprocess
import sys
import time

from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import BaseCommand


def _raise_keyboard_interrupt(signum, frame):
    raise KeyboardInterrupt


class Command(BaseCommand):
    help = "Migrate, create a first admin if there is none, then run web server and worker."

    def add_arguments(self, parser):
        parser.add_argument("--addr", default="127.0.0.1:8000")

    def handle(self, *args, addr: str, **options):
        call_command("migrate", interactive=False, verbosity=0)
        call_command("setup_schedules", verbosity=0)
        self._first_admin(addr)
        # A SIGTERM (from a supervisor, or `timeout`) stops the children like Ctrl-C does.
        signal.signal(signal.SIGTERM, _raise_keyboard_interrupt)
        manage = [sys.executable, "manage.py"]
        processes = [
            subprocess.Popen([*manage, "runserver", addr, "--noreload"]),
            subprocess.Popen([*manage, "qcluster"]),
        ]
        self.stdout.write(f"Switchboard is running at http://{addr}/ (Ctrl-C stops it).")
        try:
            while all(p.poll() is None for p in processes):
                time.sleep(0.5)
        except KeyboardInterrupt:
            pass
        finally:
            for process in processes:
                if process.poll() is None:
                    process.send_signal(signal.SIGINT)
            for process in processes:
                try:
                    process.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    process.kill()
        failed = [p for p in processes if p.returncode not in (0, -signal.SIGINT, None)]
        if failed:
            sys.exit(1)

    def _first_admin(self, addr: str) -> None:
        User = get_user_model()
        if User.objects.filter(is_superuser=True).exists():
            return
        password = secrets.token_urlsafe(12)
        User.objects.create_superuser("admin", "admin@example.com", password)
        self.stdout.write(
            self.style.SUCCESS(
                f"Created the first admin user. Sign in at http://{addr}/ (the wizard) or "
                f"http://{addr}/admin/ as 'admin' with password {password}\n"
                "This password is shown only now; change it after signing in."
            )
        )
