"""Network namespaces for the several-processes benchmark (issue 14, target 8): each web
process and each worker in a namespace of its own, as on machines of their own, reaching
the shared PostgreSQL, Redis and sink over a network.

The namespaces hang on one bridge on the host (``swb-<pid>``, a /24 of 10.213.0.0/16 no
address of the host uses), each by a veth pair (``swb-<pid>-<i>`` on the host, ``eth0``
inside): the host is ``.1``, namespace i is ``.(i + 1)``. One bridge rather than a /30
per namespace gives every process the same address for each service, as one
DATABASE_URL and one step URL in the database need. PostgreSQL listens on the host's
loopback only and is not reconfigured: ``forwarder`` relays TCP from the bridge address
to it. Needs root and iproute2's ``ip``; ``unavailable`` says why not, and the
benchmark then runs the processes on the host's loopback and says so.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass

PREFIX = "swb"
NAME = re.compile(rf"^{PREFIX}-(\d+)(?:-\d+)?$")


@dataclass(frozen=True)
class Namespaces:
    host: str  # the host's address on the bridge: where the namespaces reach services
    names: tuple[str, ...]
    addresses: tuple[str, ...]  # each namespace's own, reachable from the host

    def command(self, index: int) -> list[str]:
        """The prefix that runs a command inside namespace ``index``."""
        return ["ip", "netns", "exec", self.names[index]]


def unavailable() -> str | None:
    """Why namespaces cannot be made here, or None."""
    if os.geteuid() != 0:
        return "not root (network namespaces need CAP_SYS_ADMIN and CAP_NET_ADMIN)"
    if not shutil.which("ip"):
        return "no `ip` command (Debian: apt-get install iproute2)"
    return None


@contextmanager
def namespaces(count: int) -> Iterator[Namespaces]:
    """``count`` namespaces on a bridge of their own, removed on the way out however the
    block ends (SIGTERM included); those of an earlier run that was killed go first."""
    remove_stale()
    tag = f"{PREFIX}-{os.getpid()}"
    subnet = f"10.213.{_free_octet()}"
    made = Namespaces(
        host=f"{subnet}.1",
        names=tuple(f"{tag}-{i}" for i in range(1, count + 1)),
        addresses=tuple(f"{subnet}.{i + 1}" for i in range(1, count + 1)),
    )
    previous = signal.signal(signal.SIGTERM, _interrupt)
    try:
        _ip("link", "add", tag, "type", "bridge")
        _ip("addr", "add", f"{made.host}/24", "dev", tag)
        _ip("link", "set", tag, "up")
        for name, address in zip(made.names, made.addresses, strict=True):
            _ip("netns", "add", name)
            _ip("link", "add", name, "type", "veth", "peer", "name", "eth0", "netns", name)
            _ip("link", "set", name, "master", tag, "up")
            _ip("-n", name, "addr", "add", f"{address}/24", "dev", "eth0")
            _ip("-n", name, "link", "set", "eth0", "up")
            _ip("-n", name, "link", "set", "lo", "up")
        yield made
    finally:
        _remove(tag)
        signal.signal(signal.SIGTERM, previous)


def _interrupt(signum, frame) -> None:
    # Not SystemExit: the bench records that as a failed section and goes on. This
    # unwinds every context (processes, forwarder, namespaces) and stops.
    raise KeyboardInterrupt(f"signal {signum}")


def _ip(*args: str) -> None:
    result = subprocess.run(["ip", *args], capture_output=True, text=True)
    if result.returncode:
        raise RuntimeError(f"ip {' '.join(args)}: {result.stderr.strip()}")


def _lines(*args: str) -> list[str]:
    result = subprocess.run(["ip", *args], capture_output=True, text=True)
    return result.stdout.splitlines()


def _free_octet() -> int:
    taken = " ".join(_lines("-4", "-o", "addr") + _lines("-4", "route"))
    for octet in range(1, 255):
        if f"10.213.{octet}." not in taken:
            return octet
    raise RuntimeError("no free /24 in 10.213.0.0/16")


def _ours() -> tuple[list[str], list[str]]:
    """Names of this bench's namespaces and host links (from any run)."""
    spaces = [line.split()[0] for line in _lines("netns", "list") if line.strip()]
    links = [line.split(":")[1].strip().split("@")[0] for line in _lines("-o", "link")]
    return [n for n in spaces if NAME.match(n)], [n for n in links if NAME.match(n)]


def _remove(tag: str) -> None:
    """Everything named ``tag``: processes left in its namespaces (started by the bench
    run that made them), the namespaces, their veth pairs and the bridge."""
    spaces, links = _ours()
    for name in spaces:
        if name.startswith(tag + "-"):
            for pid in _lines("netns", "pids", name):
                with suppress(ValueError, OSError):
                    os.kill(int(pid), signal.SIGKILL)
            subprocess.run(["ip", "link", "del", name], capture_output=True)
            subprocess.run(["ip", "netns", "del", name], capture_output=True)
    for name in links:
        if name == tag or name.startswith(tag + "-"):
            subprocess.run(["ip", "link", "del", name], capture_output=True)


def remove_stale() -> None:
    """Namespaces and links of bench runs whose process is gone (killed)."""
    spaces, links = _ours()
    for pid in {int(NAME.match(n).group(1)) for n in spaces + links}:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            _remove(f"{PREFIX}-{pid}")
        except OSError:
            pass


@contextmanager
def forwarder(listen: str, target: tuple[str, int]) -> Iterator[int]:
    """Relay TCP from ``listen`` (a port of its choosing, yielded) to ``target``.
    Threads in this process: a few dozen lines instead of a dependency (socat), and the
    connections are few (Django keeps each process's connection, CONN_MAX_AGE)."""
    server = socket.create_server((listen, 0), backlog=128)
    live: set[socket.socket] = set()
    stopping = threading.Event()

    def accept() -> None:
        while not stopping.is_set():
            try:
                inside, _ = server.accept()
            except OSError:
                continue
            try:
                outside = socket.create_connection(target, timeout=10)
            except OSError:
                inside.close()
                continue
            outside.settimeout(None)
            for sock in (inside, outside):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                live.add(sock)
            threading.Thread(target=_relay, args=(inside, outside, live), daemon=True).start()

    threading.Thread(target=accept, daemon=True).start()
    try:
        yield server.getsockname()[1]
    finally:
        # shutdown wakes the thread blocked in accept(); close alone would not.
        stopping.set()
        for sock in [server, *live]:
            with suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
        server.close()


def _relay(a: socket.socket, b: socket.socket, live: set[socket.socket]) -> None:
    back = threading.Thread(target=_pump, args=(b, a), daemon=True)
    back.start()
    _pump(a, b)
    back.join()
    for sock in (a, b):
        live.discard(sock)
        sock.close()


def _pump(source: socket.socket, sink: socket.socket) -> None:
    try:
        while data := source.recv(65536):
            sink.sendall(data)
    except OSError:
        pass
    # Either side ending ends both: the other pump's recv returns and it stops too.
    for sock in (source, sink):
        with suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)
