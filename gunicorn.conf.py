"""gunicorn settings for Switchboard: `gunicorn -c gunicorn.conf.py config.wsgi`.

Everything can be set from the environment: BIND (or PORT), WEB_WORKERS, WEB_THREADS,
and SYNC_RESPONSE_TIMEOUT as the settings read it.
"""

from __future__ import annotations

import gc
import os
import shutil
import tempfile

from prometheus_client import multiprocess

bind = os.environ.get("BIND") or f"0.0.0.0:{os.environ.get('PORT', '8000')}"
workers = int(os.environ.get("WEB_WORKERS", "4"))
# Threads: a webhook with a Response step waits on outside services (ChatGPT) inline;
# a thread waiting must not hold a whole worker.
worker_class = "gthread"
threads = int(os.environ.get("WEB_THREADS", "8"))
# Above the longest an inline run may take, so that the run answers its own timeout
# (a clear JSON error with the execution id) before gunicorn kills the worker.
timeout = int(float(os.environ.get("SYNC_RESPONSE_TIMEOUT", "30"))) + 15
graceful_timeout = timeout
keepalive = 5

accesslog = "-"
# %(U)s is the path without the query string: a webhook's `key` secret may travel there.
access_log_format = '%(h)s %(l)s %(u)s %(t)s "%(m)s %(U)s %(H)s" %(s)s %(b)s %(L)s'
# The path still holds the webhook token: shortened to four characters, as in Django's
# own log lines (and any key in a Referer header removed). The same logger writes
# gunicorn's own lines (its error log) as the platform does: one line per event, JSON
# with LOG_FORMAT=json, tokens shortened.
logger_class = "config.log_filters.GunicornLogger"

# prometheus-client's multi-process mode: each worker counts into files in this folder
# and any worker's /metrics adds them up. A folder of our own unless one is given (a
# qcluster on this machine given the same folder is counted too).
if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="switchboard-metrics-")
    _own_metrics_dir = True
else:
    os.makedirs(os.environ["PROMETHEUS_MULTIPROC_DIR"], exist_ok=True)
    _own_metrics_dir = False


def post_worker_init(worker) -> None:
    # Django, the apps and everything imported at start live as long as the worker: out of
    # the cyclic collector's sight (the permanent generation), so that its full passes walk
    # only what requests made. A full pass over them stalled every thread of the worker
    # for about 50 ms now and then, which the slowest 1% of webhooks paid.
    gc.freeze()


def child_exit(server, worker) -> None:
    multiprocess.mark_process_dead(worker.pid)


def on_exit(server) -> None:
    if _own_metrics_dir:
        shutil.rmtree(os.environ["PROMETHEUS_MULTIPROC_DIR"], ignore_errors=True)
