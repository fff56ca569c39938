"""The housekeeping thread of a django-q2 worker process.

Each worker process of the cluster starts one when it spawns (django-q2's
``post_spawn``). It renews the lease of the run its process is running, so that a step
waiting minutes on an outside service keeps its lease, and every HOUSEKEEPING_INTERVAL
seconds it recovers runs whose worker died and hands waiting runs to the broker. Being
a thread beside the worker, not a task behind user runs in the queue, it goes on when
every worker is busy with slow runs; a worker that dies takes its thread along, and the
others (or the worker spawned in its place, which runs a pass at once) take over.
"""

from __future__ import annotations

import logging
import os
import random
import threading
import time
from typing import Any

from django.conf import settings
from django.db import close_old_connections, connection
from django_q.conf import Conf

from automations.engine import lease, queue

logger = logging.getLogger(__name__)

_started = threading.Event()


def heartbeat_interval() -> float:
    return max(0.5, settings.LEASE_SECONDS / 3)


def housekeeping_loop(stop: threading.Event) -> None:
    next_pass = time.monotonic()  # at once: a new worker looks for runs to recover
    while not stop.is_set():
        try:
            close_old_connections()
            lease.renew_held()
            if time.monotonic() >= next_pass:
                queue.housekeeping()
                # Spread the passes of many workers rather than line them up.
                spread = random.uniform(0.8, 1.2)
                next_pass = time.monotonic() + settings.HOUSEKEEPING_INTERVAL * spread
        except Exception:
            # A database or broker that went away: try again on the next beat.
            logger.warning("Housekeeping pass failed", exc_info=True)
            connection.close()
        stop.wait(min(heartbeat_interval(), settings.HOUSEKEEPING_INTERVAL))
    connection.close()


def start_housekeeping(**kwargs: Any) -> threading.Thread | None:
    """Receiver of django-q2's post_spawn, in the freshly forked worker process. Not in
    sync mode (tests, Q_SYNC), where django-q2 runs each task in the calling process."""
    if _started.is_set() or Conf.SYNC:
        return None
    _started.set()
    thread = threading.Thread(
        target=housekeeping_loop, args=(threading.Event(),), name="housekeeping", daemon=True
    )
    thread.start()
    return thread


def lower_priority(**kwargs: Any) -> None:
    """Receiver of django-q2's post_spawn, in the freshly forked worker process: its
    nice value raised by WORKER_NICE, so that on a machine running web processes too,
    runs take the CPU the web leaves (webhooks, pages and API calls answer first; the
    queue absorbs a burst). Each worker the cluster spawns in place of another does the
    same: they fork from the cluster's own process, which keeps its priority."""
    if settings.WORKER_NICE and not Conf.SYNC:
        os.nice(settings.WORKER_NICE)
