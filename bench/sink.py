"""The local HTTP server the drain benchmark's steps call: it answers every request in
one write with TCP_NODELAY (else a 40 ms delayed-ACK stall per call would measure the
server, not the platform), and counts the bodies it received by their "n".

    python bench/sink.py PORT [HOST]   # GET /counts answers {"n": times received}
"""

from __future__ import annotations

import json
import socket
import sys
import threading
from collections import Counter
from contextlib import suppress

ANSWER = (
    b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 12\r\n"
    b'Connection: keep-alive\r\n\r\n{"ok": true}'
)
received: Counter = Counter()
lock = threading.Lock()


def _serve(conn: socket.socket) -> None:
    conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    buffer = b""
    # A client may reset rather than close (wrk interrupted at its request limit).
    with conn, suppress(ConnectionError):
        while True:
            while b"\r\n\r\n" not in buffer:
                chunk = conn.recv(65536)
                if not chunk:
                    return
                buffer += chunk
            head, _, buffer = buffer.partition(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n")[1:]:
                name, _, value = line.partition(b":")
                if name.strip().lower() == b"content-length":
                    length = int(value)
            while len(buffer) < length:
                chunk = conn.recv(65536)
                if not chunk:
                    return
                buffer += chunk
            body, buffer = buffer[:length], buffer[length:]
            if head.startswith(b"GET /counts"):
                with lock:
                    data = json.dumps(received).encode()
                conn.sendall(
                    b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                    + f"Content-Length: {len(data)}\r\n\r\n".encode()
                    + data
                )
                continue
            try:
                n = json.loads(body).get("n")
            except (ValueError, AttributeError):
                n = None
            with lock:
                received[str(n)] += 1
            conn.sendall(ANSWER)


def main(port: int, host: str = "127.0.0.1") -> None:
    server = socket.socket()
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind((host, port))
    server.listen(512)
    while True:
        conn, _ = server.accept()
        threading.Thread(target=_serve, args=(conn,), daemon=True).start()


if __name__ == "__main__":
    main(int(sys.argv[1]), *sys.argv[2:3])
