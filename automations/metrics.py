"""Prometheus metrics.

Events that leave no row (a refused webhook, a retried call) are counted where they
happen, in prometheus-client's multi-process mode: with PROMETHEUS_MULTIPROC_DIR set
(gunicorn.conf.py sets it), every gunicorn worker and a qcluster sharing the directory
write their counts to files there, and any worker's /metrics adds them all up. Without
it (one process, e.g. runserver) the counts live in that process.

What a run left in the database (runs waiting, runs going, the broker's queue) is read
at scrape time, so every process and every machine reports the same numbers.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterator
from functools import lru_cache, wraps

from django.db.models import Count
from django.http import HttpRequest, HttpResponse
from prometheus_client import Counter, Histogram
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from automations.models import Execution, Status

logger = logging.getLogger(__name__)

# A counter without labels opens its file as soon as it is made, in any process that
# imports this module (a management command too), before gunicorn.conf.py may have
# made the folder.
if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
    os.makedirs(os.environ["PROMETHEUS_MULTIPROC_DIR"], exist_ok=True)

WEBHOOK_REQUESTS = Counter(
    "switchboard_webhook_requests",
    "Webhook requests answered, by trigger kind and HTTP status.",
    ["kind", "status"],
)
EXECUTIONS_STARTED = Counter("switchboard_executions_started", "Runs started.")
EXECUTIONS_FINISHED = Counter(
    "switchboard_executions_finished", "Runs finished, by final status.", ["status"]
)
STEP_DURATION = Histogram(
    "switchboard_step_duration_seconds",
    "Time a step took, retries included, by connector, action and status.",
    ["connector", "action", "status"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300),
)
STEP_RETRIES = Counter(
    "switchboard_step_retries", "Calls of an action repeated after a retryable error."
)


@lru_cache(maxsize=1024)
def _labelled(metric: Counter | Histogram, *values: str) -> Counter | Histogram:
    # The counter for these label values, kept: ``labels()`` checks the values and takes
    # the metric's lock on every call, three times per webhook. The values come from a
    # bounded set (HTTP statuses, the registered connectors' actions, run statuses).
    return metric.labels(*values)


def counted_webhook(kind: str, view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """The hook view, counting its answers by status (the view's own module stays as is)."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        response = view(request, *args, **kwargs)
        _labelled(WEBHOOK_REQUESTS, kind, str(response.status_code)).inc()
        return response

    return wrapper


def execution_started() -> None:
    EXECUTIONS_STARTED.inc()


def execution_finished(status: str) -> None:
    _labelled(EXECUTIONS_FINISHED, str(status)).inc()


def step_finished(
    *, connector: str, action: str, status: str, duration_ms: int, attempts: int
) -> None:
    _labelled(STEP_DURATION, connector, action, str(status)).observe(duration_ms / 1000)
    if attempts > 1:
        STEP_RETRIES.inc(attempts - 1)


class DatabaseCollector(Collector):
    """Gauges read at scrape time: executions waiting or going, and the broker's queue."""

    def __init__(self, queue_size: Callable[[], int]) -> None:
        self.queue_size = queue_size

    def collect(self) -> Iterator[GaugeMetricFamily]:
        runs = GaugeMetricFamily(
            "switchboard_executions_in_progress",
            "Executions now queued (runs waiting) or running.",
            labels=["status"],
        )
        counts = dict(
            Execution.objects.filter(status__in=[Status.QUEUED, Status.RUNNING])
            .values_list("status")
            .annotate(n=Count("id"))
            .order_by()
        )
        for status in (Status.QUEUED, Status.RUNNING):
            runs.add_metric([str(status)], counts.get(status, 0))
        yield runs
        up = GaugeMetricFamily("switchboard_broker_up", "1 when the task broker answered.")
        try:
            size = self.queue_size()
        except Exception as exc:  # a broker down must not take the metrics down with it
            logger.warning("Broker queue size unavailable: %s", type(exc).__name__)
            up.add_metric([], 0)
        else:
            up.add_metric([], 1)
            yield GaugeMetricFamily(
                "switchboard_queue_length", "Tasks waiting in the django-q2 broker.", value=size
            )
        yield up
