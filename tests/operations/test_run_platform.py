"""`make run` on a taken port says so before it claims or prints anything."""

from __future__ import annotations

import socket

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command

pytestmark = pytest.mark.django_db


def test_it_refuses_a_taken_port_before_doing_anything(capsys):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(CommandError, match=f"Cannot listen on 127.0.0.1:{port}.*PORT="):
            call_command("run_platform", addr=f"127.0.0.1:{port}")
    assert "running at" not in capsys.readouterr().out
    assert not get_user_model().objects.filter(is_superuser=True).exists()
