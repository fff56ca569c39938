"""CPU per request in process: the sync webhook (HTTP trigger -> Response, logged) and
the ceiling app's one-row insert, each handed to Django's WSGI handler in this process.

Under gunicorn both pay the same HTTP server, thread hand-offs and socket on top, and on
a shared VM one wrk run moves by a third from the next; the CPU a request costs the
application itself, the best of many batches, moves by a few percent. It says where
targets 1 and 2 stand between machines and runs. Run by bench/run.py with the
environment that sets the database, given the path to request (the sync section's
automation's webhook, or the ceiling's URL with
DJANGO_SETTINGS_MODULE=bench.ceiling_settings); prints JSON.
"""

from __future__ import annotations

import gc
import io
import json
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django  # noqa: E402

django.setup()

from django.core.handlers.wsgi import WSGIHandler  # noqa: E402

BATCHES, PER_BATCH, WARM_UP = 20, 200, 200
BODY = b'{"text": "hello", "n": 1}'


def _environ(path: str) -> dict:
    # As gunicorn hands a request over (wrk's headers).
    return {
        "REQUEST_METHOD": "POST", "PATH_INFO": path, "QUERY_STRING": "",
        "SERVER_NAME": "127.0.0.1", "SERVER_PORT": "8000", "SERVER_PROTOCOL": "HTTP/1.1",
        "HTTP_HOST": "127.0.0.1", "HTTP_USER_AGENT": "wrk", "REMOTE_ADDR": "127.0.0.1",
        "CONTENT_TYPE": "application/json", "CONTENT_LENGTH": str(len(BODY)),
        "wsgi.input": io.BytesIO(BODY), "wsgi.url_scheme": "http", "wsgi.errors": sys.stderr,
        "wsgi.multithread": True, "wsgi.multiprocess": True, "wsgi.run_once": False,
    }  # fmt: skip


def main(path: str) -> None:
    handler = WSGIHandler()
    answers: list[str] = []

    def start_response(status: str, headers: list, exc_info: object = None) -> None:
        answers.append(status)

    def one() -> None:
        response = handler(_environ(path), start_response)
        b"".join(response)
        response.close()  # as a WSGI server does: request_finished

    for _ in range(WARM_UP):
        one()
    if not answers[-1].startswith("200"):
        raise SystemExit(f"{path} answered {answers[-1]}")
    gc.freeze()  # as gunicorn.conf.py does once a worker has loaded the app
    best = float("inf")
    for _ in range(BATCHES):
        started = time.process_time()
        for _ in range(PER_BATCH):
            one()
        best = min(best, (time.process_time() - started) / PER_BATCH)
    print(json.dumps({"cpu_us": round(best * 1e6, 1), "batches": BATCHES, "per_batch": PER_BATCH}))


if __name__ == "__main__":
    main(sys.argv[1])
