"""A qcluster worker process yields the CPU to the web processes (WORKER_NICE)."""

from __future__ import annotations

import multiprocessing
import os

from django_q.conf import Conf
from django_q.signals import post_spawn

from automations import worker


def _nice_after_spawn(queue) -> None:
    # In the forked child, as in a worker the cluster spawned (its other receiver, the
    # housekeeping thread, would use the database connection of the test's process).
    Conf.SYNC = False
    worker.lower_priority(sender="django_q", proc_name="Worker-1")
    queue.put(os.getpriority(os.PRIO_PROCESS, 0))


def nice_of_a_spawned_worker() -> int:
    context = multiprocessing.get_context("fork")
    queue = context.Queue()
    child = context.Process(target=_nice_after_spawn, args=(queue,))
    child.start()
    child.join(30)
    return queue.get(timeout=5)


def test_a_spawned_worker_runs_at_a_lower_priority_than_the_web(settings):
    settings.WORKER_NICE = 10
    own = os.getpriority(os.PRIO_PROCESS, 0)
    assert nice_of_a_spawned_worker() == min(19, own + 10)
    assert os.getpriority(os.PRIO_PROCESS, 0) == own  # the cluster's own process keeps it


def test_worker_nice_zero_keeps_workers_equal_to_the_web(settings):
    settings.WORKER_NICE = 0
    assert nice_of_a_spawned_worker() == os.getpriority(os.PRIO_PROCESS, 0)


def test_every_spawned_worker_lowers_its_priority():
    receivers = [receiver for receiver in post_spawn._live_receivers("django_q")[0]]
    assert worker.lower_priority in receivers
