"""bench/netns.py: the namespaces of the several-processes benchmark reach a service on
the host's loopback only through the forwarder, and nothing of them outlives the run
(nor a run that was killed). Needs root and iproute2's `ip`; skipped otherwise."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading

import pytest

from bench import netns

pytestmark = pytest.mark.skipif(
    netns.unavailable() is not None, reason=f"network namespaces: {netns.unavailable()}"
)

ASK = (
    "import socket, sys\n"
    "try:\n"
    "    s = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=5)\n"
    "except OSError:\n"
    "    print('refused'); sys.exit()\n"
    "s.sendall(b'ping'); print(s.recv(16).decode())\n"
)


def _echo_on_loopback() -> tuple[socket.socket, int]:
    server = socket.create_server(("127.0.0.1", 0))

    def serve() -> None:
        while True:
            try:
                conn, _ = server.accept()
            except OSError:
                return
            with conn:
                conn.sendall(b"echo " + conn.recv(16))

    threading.Thread(target=serve, daemon=True).start()
    return server, server.getsockname()[1]


def _ask(prefix: list[str], host: str, port: int) -> str:
    run = subprocess.run(
        [*prefix, sys.executable, "-c", ASK, host, str(port)],
        capture_output=True,
        text=True,
        check=True,
    )
    return run.stdout.strip()


def _leftovers(tag: str) -> list[str]:
    """Namespaces and links named ``tag`` or ``tag-<i>``."""
    spaces = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    links = subprocess.run(["ip", "-o", "link"], capture_output=True, text=True).stdout
    names = [line.split()[0] for line in spaces.splitlines() if line.strip()]
    names += [line.split(":")[1].strip().split("@")[0] for line in links.splitlines()]
    return [name for name in names if name == tag or name.startswith(tag + "-")]


def test_namespace_reaches_loopback_service_only_through_the_forwarder():
    server, port = _echo_on_loopback()
    try:
        with (
            netns.namespaces(2) as spaces,
            netns.forwarder(spaces.host, ("127.0.0.1", port)) as forwarded,
        ):
            for index in range(2):
                inside = spaces.command(index)
                assert _ask(inside, spaces.host, forwarded) == "echo ping"
                assert _ask(inside, "127.0.0.1", port) == "refused"
    finally:
        server.close()
    assert _leftovers(f"swb-{os.getpid()}") == []


def test_everything_is_removed_when_the_block_fails():
    with pytest.raises(RuntimeError, match="fails"), netns.namespaces(1):
        assert _leftovers(f"swb-{os.getpid()}-1")
        raise RuntimeError("the benchmark fails")
    assert _leftovers(f"swb-{os.getpid()}") == []


def test_namespaces_of_a_killed_run_are_removed_at_the_next_start():
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()  # a pid that no longer runs, as a killed bench's
    tag = f"swb-{gone.pid}"
    subprocess.run(["ip", "netns", "add", f"{tag}-1"], check=True)
    subprocess.run(["ip", "link", "add", tag, "type", "bridge"], check=True)
    assert _leftovers(tag)
    with netns.namespaces(1):
        assert _leftovers(tag) == []
