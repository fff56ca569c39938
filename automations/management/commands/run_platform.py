"""Run the whole platform on one machine: migrations, a first admin, the web server and
a django-q2 worker, stopped together on Ctrl-C."""

from __future__ import annotations

import secrets
import signal
import socket
import subprocess
import sys
import time

from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError


def _raise_keyboard_interrupt(signum, frame):
    raise KeyboardInterrupt


def _check_port_free(addr: str) -> None:
    host, _, port = addr.rpartition(":")
    host = host.strip("[]") or "127.0.0.1"
    try:
        number = int(port)
    except ValueError:
        raise CommandError(
            f"{addr!r} is not an address: use HOST:PORT, e.g. 127.0.0.1:8001."
        ) from None
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        try:
            probe.bind((host, number))
        except OSError as exc:
            raise CommandError(
                f"Cannot listen on {addr}: {exc.strerror}. Another program (perhaps another "
                f"Switchboard) is using it. Stop it, or choose another port: "
                f"make run PORT=8001 (or ADDR=127.0.0.1:8001)."
            ) from None


class Command(BaseCommand):
    help = "Migrate, create a first admin if there is none, then run web server and worker."

    def add_arguments(self, parser):
        parser.add_argument("--addr", default="127.0.0.1:8000")

    def handle(self, *args, addr: str, **options):
        # Checked before anything else happens: a taken port would otherwise fail only
        # after the start message, inside the web server's own traceback.
        _check_port_free(addr)
        call_command("migrate", interactive=False, verbosity=0)
        call_command("collectstatic", interactive=False, verbosity=0)
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
