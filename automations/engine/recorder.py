"""Writes an execution's log: the Execution row and one StepRun per step.

Rows are built in memory and written by ``flush``: a background run flushes after every
step (so the log shows progress), an inline run once at the end (so answering an HTTP
caller costs few queries). Secrets are redacted and large outputs truncated on the way,
and every value is made storable first (``connectors.jsondata.storable``): what the
database cannot keep is replaced, with a note, so that writing a log cannot fail on a
step's output. If the write fails all the same, the execution is written alone, failed,
with the reason.
"""

from __future__ import annotations

import json
import logging
from contextlib import nullcontext
from functools import lru_cache
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from automations import metrics
from automations.engine import inserts, progress
from automations.engine.outcomes import StepFailed
from automations.models import Automation, Execution, Status, StepRun
from connectors.jsondata import storable_text, storable_with_text

logger = logging.getLogger(__name__)

REDACTED = "[redacted]"
TRUNCATED_KEY = "_truncated"


def redact(value: Any, secrets: frozenset[str]) -> Any:
    """Replace every occurrence of a known secret inside a JSON value."""
    if not secrets:
        return value
    if isinstance(value, str):
        for secret in secrets:
            if secret in value:
                value = value.replace(secret, REDACTED)
        return value
    if isinstance(value, dict):
        return {key: redact(item, secrets) for key, item in value.items()}
    if isinstance(value, list):
        return [redact(item, secrets) for item in value]
    return value


def cap_output(value: Any, size: int | None = None) -> tuple[Any, bool]:
    """Store at most STEP_OUTPUT_MAX_BYTES of an output; a larger one keeps a preview.
    ``size``, the length of the output's JSON when the caller has it, saves encoding it
    again."""
    limit = settings.STEP_OUTPUT_MAX_BYTES
    if size is not None and size <= limit // 4:
        return value, False
    text = json.dumps(value, ensure_ascii=False, default=str)
    if len(text) <= limit // 4 or len(text.encode()) <= limit:
        return value, False
    preview = text.encode()[:limit].decode("utf-8", "ignore")
    return {TRUNCATED_KEY: True, "size_bytes": len(text.encode()), "preview": preview}, True


@lru_cache(maxsize=64)
def _escaped(secrets: frozenset[str]) -> tuple[str, ...]:
    # JSON escapes character by character, so a secret inside a string shows in the
    # value's JSON exactly as its own JSON (less the quotes) does.
    return tuple(json.dumps(secret, ensure_ascii=False)[1:-1] for secret in secrets)


def may_hold(text: str | None, secrets: frozenset[str]) -> bool:
    """Whether a value whose JSON is ``text`` (None: not known) may hold a secret."""
    return bool(secrets) and (text is None or any(e in text for e in _escaped(secrets)))


def secret_values(values: list[Any]) -> frozenset[str]:
    """The values worth redacting: short ones would redact ordinary words, and secrets
    worth the name are longer."""
    return frozenset(str(v) for v in values if isinstance(v, str | int) and len(str(v)) >= 6)


# The execution's columns a flush writes (its lease too, when the run leaves its worker).
ROW_FIELDS = (
    "status", "error", "response", "tokens_used", "started_at", "finished_at", "duration_ms",
    "resume_position", "resume_path", "waited_seconds", "not_before", "enqueued_at",
)  # fmt: skip


def _row_state(execution: Execution) -> tuple:
    return (*(getattr(execution, name) for name in ROW_FIELDS), execution.lease_until)


def _fields_to_write(execution: Execution) -> list[str]:
    # The lease belongs to the heartbeat while the run runs: written here only when the
    # run leaves its worker (finished, or back to the queue).
    return [*ROW_FIELDS, *(["lease_until"] if execution.status != "running" else [])]


class Recorder:
    def __init__(self, execution: Execution, secrets: frozenset[str]) -> None:
        self.execution = execution
        # JSON written for values this log keeps (the checks below write it), handed to
        # the statements that store them (inserts.Texts); emptied by every write.
        self.texts: inserts.Texts = {}
        execution.trigger_output = self._checked(execution.trigger_output)
        self.secrets = secrets
        # Step runs as field values: model instances are made only when the ORM writes.
        self.pending: list[dict[str, Any]] = []
        self.children: list[Recorder] = []
        # What a Response step answered, redacted but whole: the caller gets it all,
        # the log keeps at most STEP_OUTPUT_MAX_BYTES of it.
        self.answer: Any = None
        # Paths that have a row already (a step logged as started, a step waiting to
        # retry, the steps a resumed execution ran before): flushed as updates.
        self.written: set[str] = set()
        # Whether a stored output was cut short: such a run cannot resume from its log.
        self.truncated = False
        # (automation id, version) of a plan not yet confirmed fresh: the first write
        # confirms it or raises StalePlan, writing nothing (engine/inserts.py).
        self.expect_version: tuple[int, int] | None = None
        # A question (SQL and parameters) the write that finishes the run answers too,
        # and its answer (None when not asked or not answered).
        self.ask_on_finish: tuple[str, list] | None = None
        self.finish_answer: Any = None
        # The execution's row as last written (or as read): a flush that would write the
        # same values again skips it. A background run's step started and finished
        # without changing its row cost two updates of it before.
        self.saved_state = _row_state(execution) if execution.pk is not None else None

    def add_secrets(self, values: list[Any]) -> None:
        extra = secret_values(values)
        if extra - self.secrets:
            self.secrets = self.secrets | extra

    def step_run(
        self,
        *,
        step_key: str,
        position: int,
        path: str,
        iteration: int | None,
        connector: str,
        action: str,
        status: str,
        input: Any,
        output: Any,
        error: str,
        attempts: int,
        started_at,
        duration_ms: int,
        tokens: int = 0,
        reused: bool = False,
        output_text: str | None = None,
    ) -> None:
        metrics.step_finished(
            connector=connector, action=action, status=status, duration_ms=duration_ms,
            attempts=attempts,
        )  # fmt: skip
        stored_output, truncated = self._kept(output, output_text)
        # Inputs are made by references and can be larger than anything that came in:
        # capped the same way (the marker says so; retries reuse outputs, not inputs).
        stored_input = self._kept(input)[0]
        self.truncated = self.truncated or truncated
        self.pending.append(
            {
                "step_key": step_key, "position": position, "path": path,
                "iteration": iteration, "connector": connector,
                "action": action, "status": status, "input": stored_input,
                "output": stored_output, "output_truncated": truncated,
                "error": storable_text(redact(error, self.secrets)), "attempts": attempts,
                "started_at": started_at, "finished_at": timezone.now(),
                "duration_ms": duration_ms, "tokens_used": tokens, "reused": reused,
            }
        )  # fmt: skip

    def _kept(self, value: Any, text: str | None = None) -> tuple[Any, bool]:
        """``value`` as the log keeps it: storable, secrets redacted, capped (see
        cap_output). Its JSON is written once: the checks and the cap share it."""
        value, text = storable_with_text(value, text)
        if may_hold(text, self.secrets):
            return cap_output(redact(value, self.secrets))
        return self._capped(value, text)

    def _capped(self, value: Any, text: str | None) -> tuple[Any, bool]:
        """``cap_output`` of a value whose JSON is ``text`` (None: not known), that JSON
        remembered for the write when the value is kept whole."""
        kept, truncated = cap_output(value, None if text is None else len(text))
        if not truncated:
            self._remember(kept, text)
        return kept, truncated

    def _checked(self, value: Any) -> Any:
        """``storable(value)``, its JSON remembered for the write."""
        value, text = storable_with_text(value)
        self._remember(value, text)
        return value

    def _remember(self, value: Any, text: str | None) -> None:
        # Containers only: a scalar's JSON costs no more to write than to look up.
        if text is not None and isinstance(value, dict | list):
            self.texts[id(value)] = (value, text)

    def step_started(
        self, *, step_key: str, position: int, path: str, iteration: int | None,
        connector: str, action: str, input: Any, started_at,
    ) -> None:  # fmt: skip
        """Write at once that a step is about to call its action (with what is pending);
        StepFailed if that cannot be written, so that the action is not called."""
        self.pending.append({
            "step_key": step_key, "position": position, "path": path, "iteration": iteration,
            "connector": connector, "action": action, "status": "running",
            "input": self._kept(input)[0], "output": None,
            "error": "", "started_at": started_at, "finished_at": None,
        })  # fmt: skip
        if not self.flush():
            raise StepFailed("The log could not be written, so the step was not run.")

    def finish(
        self, *, status: str, error: str = "", response: Any = None, tokens: int = 0
    ) -> None:
        metrics.execution_finished(status)
        execution = self.execution
        execution.status = status
        execution.error = storable_text(redact(error, self.secrets))
        self.answer = execution.response = None
        if response is not None:
            clean, text = storable_with_text(response)
            if may_hold(text, self.secrets):
                self.answer = redact(response, self.secrets)
                clean = self.answer if clean is response else redact(clean, self.secrets)
                text = None
            else:
                self.answer = response
            execution.response = self._capped(clean, text)[0]
        execution.tokens_used = tokens
        execution.lease_until = None
        execution.finished_at = timezone.now()
        if execution.started_at:
            elapsed = execution.finished_at - execution.started_at
            execution.duration_ms = int(elapsed.total_seconds() * 1000)

    def flush(self) -> bool:
        """Write what is pending; False when that failed (the database refused a row): the
        execution is then written alone as failed, saying so, without its step runs."""
        new = self.execution.pk is None
        if not (new or self.pending or self.children) and (
            _row_state(self.execution) == self.saved_state
        ):
            return True  # nothing to write (a step about to start right after the claim)
        try:
            # Inside a transaction (a sub run, tests) a failed statement must not spoil it.
            with transaction.atomic() if connection.in_atomic_block else nullcontext():
                self._write()
        except inserts.StalePlan:
            raise  # nothing written: the caller runs again with a fresh plan
        except Exception as exc:
            logger.exception("The log of execution %s could not be written", self.execution.pk)
            self._write_failure(exc, new)
            return False
        finally:
            self.texts = {}  # what they were written for is written (or given up)
        return True

    def _write_failure(self, exc: Exception, new: bool) -> None:
        execution = self.execution
        if new:  # the insert was rolled back
            execution.pk = None
            execution._state.adding = True
        self.pending, self.children = [], []
        if not execution.finished:
            execution.finished_at = timezone.now()
        execution.status = Status.FAILED
        execution.error = f"The log could not be written: {type(exc).__name__}"
        execution.response = None
        self._flush()

    def _write(self) -> None:
        most = max(len(r.pending) for r in [self, *self.children])
        if self.execution.pk is None and inserts.supported(most):
            nodes = self._nodes() if self.children else []
            if nodes and inserts.tree_supported(nodes):
                inserts.insert_tree(nodes, expect=self.expect_version)
                for recorder in [self, *self._descendants()]:
                    recorder.pending, recorder.children = [], []
            elif self.children:
                with transaction.atomic():
                    self._insert_tree()
            else:
                self._insert_tree()
            self.expect_version = None
            return
        if (
            self.execution.pk is not None
            and not self.children
            and self.expect_version is None
            and progress.supported(len(self.pending))
        ):
            self._write_progress()
            return
        with transaction.atomic():
            if self.expect_version is not None:
                automation_id, version = self.expect_version
                if not Automation.objects.filter(pk=automation_id, version=version).exists():
                    raise inserts.StalePlan(automation_id)
                self.expect_version = None
            self._flush()

    def _nodes(self, parent: int = -1, into: list | None = None) -> list[inserts.Node]:
        """This execution and its children's, in preorder, for ``inserts.insert_tree``."""
        into = [] if into is None else into
        index = len(into)
        into.append(inserts.Node(self.execution, self.pending, parent, self.texts))
        for child in self.children:
            child._nodes(index, into)
        return into

    def _descendants(self) -> list[Recorder]:
        return [d for child in self.children for d in (child, *child._descendants())]

    def _insert_tree(self) -> None:
        """A run answered inline: this execution and its children, all new."""
        inserts.insert_execution(
            self.execution, self.pending, expect=self.expect_version, texts=self.texts
        )
        self.pending = []
        for child in self.children:
            child.execution.parent = self.execution
            child._insert_tree()
        self.children = []

    def _write_progress(self) -> None:
        """A background run's progress in one statement (engine/progress.py)."""
        execution = self.execution
        state = _row_state(execution)
        fields: list[str] = []
        if state != self.saved_state:
            fields = _fields_to_write(execution)
        updates = [values for values in self.pending if values["path"] in self.written]
        new = [values for values in self.pending if values["path"] not in self.written]
        ask = self.ask_on_finish if execution.finished else None
        answer = progress.write(execution, updates, new, fields, ask, self.texts)
        if ask and fields:
            self.finish_answer = answer
        self.saved_state = state
        self.written.update(values["path"] for values in self.pending)
        self.pending = []

    def _flush(self) -> None:
        execution = self.execution
        if execution.pk is None:
            execution.save(force_insert=True)
            self.saved_state = _row_state(execution)
        elif (state := _row_state(execution)) != self.saved_state:
            execution.save(update_fields=_fields_to_write(execution))
            self.saved_state = state
        if self.pending:
            for values in self.pending:
                if values["path"] in self.written:
                    StepRun.objects.filter(execution=execution, path=values["path"]).update(
                        **values
                    )
            StepRun.objects.bulk_create(
                [
                    StepRun(execution=execution, **values)
                    for values in self.pending
                    if values["path"] not in self.written
                ]
            )
            self.written.update(values["path"] for values in self.pending)
            self.pending = []
        for child in self.children:
            child.execution.parent = execution
            child._flush()
        self.children = [c for c in self.children if not c.execution.finished]
