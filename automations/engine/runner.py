"""Runs an automation's steps for one execution.

For each step the runner resolves the step's references against the trigger output and
the earlier steps' outputs, type-checks the result against the action's fields, calls
the action (retrying errors that say a retry can help, with exponential backoff and
jitter), and records a StepRun. A failing step fails the execution with its message;
any other exception in a step fails it too, as an internal error named by its type (the
traceback goes to the server's log), so every run ends with a status and a reason.

An inline run writes its log once, at the end, only while its steps are free of side
effects: before the first step that may change something outside, the execution is
written (running) and from then on after every step, so a process that dies during that
step leaves a running execution for recovery to finish, never nothing.
"""

from __future__ import annotations

import json
import logging
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from functools import cached_property
from typing import Any

from django.conf import settings
from django.db.models import Prefetch
from django.utils import timezone

from accounts import selectors as account_selectors
from accounts.crypto import DecryptionError
from accounts.models import ConnectedAccount
from automations import metrics
from automations.engine.failures import execution_failed
from automations.engine.files import read_file, store_file
from automations.engine.recorder import REDACTED, Recorder
from automations.engine.references import BadReference, OutOfTime, Variables, resolve
from automations.models import Automation, Execution, Status, Step
from config.logs import run_context
from connectors import fields as field_types
from connectors import registry
from connectors.base import Action, ConnectorError, RunContext

logger = logging.getLogger(__name__)


class Deferred(Exception):
    """A step waits to retry: the run goes back to the queue and continues later, in any
    worker, so that no worker sleeps through the wait."""

    def __init__(self, message: str, *, delay: float, attempts: int) -> None:
        super().__init__(message)
        self.message = message
        self.delay = delay
        self.attempts = attempts


MAY_HAVE_BEEN_APPLIED = "The request may have been applied; check before retrying."


class StepFailed(Exception):
    def __init__(
        self, message: str, *, timed_out: bool = False, attempts: int = 0, internal: str = ""
    ) -> None:
        super().__init__(message)
        self.message = message
        self.timed_out = timed_out
        self.attempts = attempts
        # For an exception nobody raised on purpose: its type, all the user is shown.
        self.internal = internal


def internal_error(exc: Exception, step: Step | None = None, attempts: int = 0) -> StepFailed:
    """An exception that is not a step failure, as one. Those with a message meant for
    the user keep it; any other is named by its type, its traceback goes to the log."""
    if isinstance(exc, DecryptionError):
        logger.warning("Secrets of execution step %s cannot be decrypted", step and step.key)
        return StepFailed(str(exc), attempts=attempts)
    if isinstance(exc, account_selectors.AccountOfAnotherTeam):
        return StepFailed(exc.message, attempts=attempts)
    name = type(exc).__name__
    if step is None:
        logger.exception("A run failed outside its steps (%s)", name)
    else:
        logger.exception("Step %s (%s.%s) failed (%s)", step.key, step.connector, step.action, name)
    return StepFailed(f"Internal error: {name}", attempts=attempts, internal=name)


@dataclass
class Plan:
    """An automation and its ordered steps, loaded once for a run."""

    automation: Automation
    steps: list[Step]

    @cached_property
    def responds(self) -> bool:
        """Whether a step answers the HTTP caller (so the run happens inline)."""
        for step in self.steps:
            try:
                if registry.get(step.connector).action(step.action).responds:
                    return True
            except (registry.UnknownConnector, KeyError):
                continue
        return False

    @cached_property
    def uses_vars(self) -> bool:
        """Whether a step may reference the team's variables (read only then: most runs
        need no query for them). Secret fields are rendered too, and are encrypted."""
        return any(step.has_secrets or "vars" in json.dumps(step.config) for step in self.steps)


def load_plan(automation_id: int) -> Plan:
    """The automation and its ordered steps, in two queries."""
    automation = (
        Automation.objects.select_related("project")
        .prefetch_related(Prefetch("steps", queryset=Step.objects.order_by("position", "pk")))
        .get(pk=automation_id)
    )
    return Plan(automation=automation, steps=list(automation.steps.all()))


def backoff_delay(attempt: int, retry_after: float | None) -> float:
    """Exponential backoff with full jitter in its upper half; a server's Retry-After
    is a floor, itself capped at MAX_RETRY_AFTER (a server cannot park a run for hours)."""
    ceiling = min(settings.RETRY_MAX_DELAY, settings.RETRY_BASE_DELAY * 2 ** (attempt - 1))
    delay = ceiling * random.uniform(0.5, 1.0)
    if retry_after is not None:
        delay = max(delay, min(retry_after, settings.MAX_RETRY_AFTER))
    return delay


def _json_size(value: Any, what: str) -> int | None:
    """The length of the output's JSON, which also proves it is JSON; None when it is
    JSON the log keeps only in part (too deep, too long a number: the recorder says so)."""
    try:
        return len(json.dumps(value, ensure_ascii=False))
    except TypeError:
        raise StepFailed(f"{what} returned data that is not JSON.") from None
    except (ValueError, RecursionError):
        return None


class Runner:
    def __init__(
        self,
        plan: Plan,
        execution: Execution,
        *,
        deadline: float,
        flush_each_step: bool,
        ancestry: tuple[int, ...] = (),
        previous_outputs: dict[str, Any] | None = None,
        accounts: dict[int, ConnectedAccount] | None = None,
        defer_retries: bool = False,
        prior_attempts: dict[int, int] | None = None,
        on_step: Callable[[], None] | None = None,
    ) -> None:
        self.plan = plan
        self.execution = execution
        self.deadline = deadline
        self.flush_each_step = flush_each_step
        self.ancestry = (*ancestry, plan.automation.pk)
        self.previous_outputs = previous_outputs or {}
        # A background run waits for a retry in the queue, not in its worker; the attempts
        # a step made before such a wait count towards its limit.
        self.defer_retries = defer_retries
        self.prior_attempts = prior_attempts or {}
        self.on_step = on_step
        self._position = 0
        self.recorder = Recorder(execution, secrets=frozenset())
        self.result: Any = None
        self.tokens = 0
        self.lock = threading.Lock()
        self.team_id = plan.automation.project.team_id
        self.accounts = dict(accounts or {})
        self.variables = Variables({})
        # Whether this run writes its own log (a sub automation's is written by its parent).
        self.writes = True

    def _prepare(self) -> None:
        """What may fail before the first step (a secret that cannot be decrypted, the
        database), done inside the run so that it fails the run."""
        self.recorder.add_secrets(list(self.plan.automation.get_secrets().values()))
        # Read fresh for every run (plans may be cached): a changed key applies at once.
        # A sub automation's run shares what its parent run has read already.
        missing = {s.account_id for s in self.plan.steps if s.account_id} - set(self.accounts)
        if missing:
            self.accounts.update(
                account_selectors.accounts_of_team(team_id=self.team_id, ids=missing)
            )
        if self.plan.uses_vars:
            # Read once per run, fresh: a changed variable applies to the next run.
            values, secret = account_selectors.variables_for_run(team_id=self.team_id)
            self.variables = Variables(values, secret)
            self.recorder.add_secrets([values[name] for name in secret])

    # -- the run ----------------------------------------------------------------------

    def run(self, *, flush: bool = True) -> Execution:
        metrics.execution_started()
        automation = self.plan.automation
        with run_context(
            execution=self.execution.pk, automation=automation.pk, team=automation.team_id
        ):
            return self._run(flush=flush)

    def _run(self, *, flush: bool) -> Execution:
        execution = self.execution
        self.writes = flush
        data: dict[str, Any] = {"trigger": execution.trigger_output, "steps": {}}
        response = None
        try:
            self._prepare()
            data["vars"] = self.variables
            for position, step in enumerate(self.plan.steps):
                if position < execution.resume_position and step.key in self.previous_outputs:
                    data["steps"][step.key] = self._reuse(position, step)
                    continue
                if self.on_step:
                    self.on_step()
                if time.monotonic() > self.deadline:
                    raise StepFailed("The run's time limit was reached.", timed_out=True)
                output, responds = self._run_step(position, step, data)
                data["steps"][step.key] = output
                self.result = output
                if responds and response is None:
                    response = output
                if self.flush_each_step and flush:
                    self.recorder.flush()
        except Deferred as exc:
            execution.status = Status.QUEUED
            execution.resume_position = self._position
            execution.not_before = timezone.now() + timedelta(seconds=exc.delay)
            execution.enqueued_at = None
            execution.lease_until = None
            if flush:
                self.recorder.flush()
            return execution
        except StepFailed as exc:
            status = Status.TIMED_OUT if exc.timed_out else Status.FAILED
            self.recorder.finish(
                status=status, error=exc.message, response=response, tokens=self.tokens
            )
        except Exception as exc:
            error = internal_error(exc).message
            self.recorder.finish(
                status=Status.FAILED, error=error, response=response, tokens=self.tokens
            )
        else:
            self.recorder.finish(status=Status.SUCCEEDED, response=response, tokens=self.tokens)
        if response is not None:
            self.result = response.get("body")
        if flush:
            self.recorder.flush()
            execution_failed(execution)
        return execution

    def _reuse(self, position: int, step: Step) -> Any:
        output = self.previous_outputs[step.key]
        if position in self.recorder.written:
            return output  # this execution's own step, logged before it was resumed
        self.recorder.step_run(
            step_key=step.key, position=position, connector=step.connector, action=step.action,
            status=Status.SUCCEEDED, input=None, output=output, error="", attempts=0,
            started_at=timezone.now(), duration_ms=0, reused=True,
        )  # fmt: skip
        return output

    def _run_step(self, position: int, step: Step, data: dict[str, Any]) -> tuple[Any, bool]:
        started_at, clock = timezone.now(), time.monotonic()
        label = step.name or step.key
        self._position = position
        record = {
            "step_key": step.key, "position": position, "connector": step.connector,
            "action": step.action, "started_at": started_at,
        }  # fmt: skip
        logged_input: Any = None
        context = None
        try:
            action = self._action(step)
            secrets = step.get_secrets()
            account = self._account(step)
            credentials = account.credentials() if account else {}
            self.recorder.add_secrets([*secrets.values(), *_secret_values(account, credentials)])
            logged_input = {**step.config, **{key: REDACTED for key in secrets}}
            params = self._params(action, step, {**step.config, **secrets}, data)
            logged_input = {**params, **{key: REDACTED for key in secrets}}
            if action.needs_account and account is None:
                raise StepFailed("This step needs an account; choose one in its settings.")
            context = self._context(step, credentials)
            side_effects = action.has_side_effects(params)
            if side_effects:
                self._record_before_side_effect()
            if self.flush_each_step and side_effects:
                # Logged as started before the call: if this worker dies now, recovery
                # knows the action may have acted and fails the run for a person to check.
                self.recorder.step_started(**record, input=logged_input)
            output, size, attempts = self._call(action, params, context, step, position)
        except Deferred as exc:
            self.recorder.step_run(
                **record, status=Status.QUEUED, input=logged_input, output=None,
                error=f"{exc.message} (attempt {exc.attempts}; retrying in {exc.delay:.0f} s)",
                attempts=exc.attempts, duration_ms=_ms(clock),
            )  # fmt: skip
            raise
        except Exception as failure:
            exc = failure if isinstance(failure, StepFailed) else internal_error(failure, step)
            tokens = context.usage.get("tokens", 0) if context else 0
            self.tokens += tokens
            self.recorder.step_run(
                **record, status=Status.TIMED_OUT if exc.timed_out else Status.FAILED,
                input=logged_input, output=None, error=exc.message, attempts=exc.attempts,
                duration_ms=_ms(clock), tokens=tokens,
            )  # fmt: skip
            if exc.internal:
                message = f"Internal error in step '{label}': {exc.internal}."
            else:
                message = f"Step '{label}' failed: {exc.message}"
            raise StepFailed(message, timed_out=exc.timed_out) from None
        tokens = context.usage.get("tokens", 0)
        self.tokens += tokens
        self.recorder.step_run(
            **record, status=Status.SUCCEEDED, input=logged_input, output=output, error="",
            attempts=attempts, duration_ms=_ms(clock), tokens=tokens, output_size=size,
        )  # fmt: skip
        return output, action.responds

    def _record_before_side_effect(self) -> None:
        """Write the log so far before a step that may change something outside; after
        every step from then on. A sub automation's run needs nothing: its parent wrote
        before the step that runs it."""
        if self.flush_each_step or not self.writes:
            return
        if not self.recorder.flush():
            raise StepFailed("The log could not be written, so the step was not run.")
        self.flush_each_step = True

    def _action(self, step: Step) -> Action:
        try:
            return registry.get(step.connector).action(step.action)
        except (registry.UnknownConnector, KeyError):
            raise StepFailed(f"There is no action {step.connector}.{step.action}.") from None

    def _account(self, step: Step) -> ConnectedAccount | None:
        if not step.account_id:
            return None
        account = self.accounts.get(step.account_id)
        # Shared with sub runs, so checked against this run's team as well.
        if account is None or account.team_id != self.team_id:
            raise StepFailed(account_selectors.AccountOfAnotherTeam(step.account_id).message)
        return account

    def _params(self, action: Action, step: Step, raw: dict, data: dict) -> dict[str, Any]:
        resolved = {}
        for key, value in raw.items():
            try:
                resolved[key] = resolve(value, data, deadline=self.deadline)
            except BadReference as exc:
                raise StepFailed(
                    f"field '{key}': {exc.message}", timed_out=isinstance(exc, OutOfTime)
                ) from None
        clean, errors = action.validate(resolved, resolved=True)
        if errors:
            raise StepFailed(
                "; ".join(f"field '{key}' {message}" for key, message in errors.items())
            )
        return clean

    def _context(self, step: Step, credentials: dict[str, Any]) -> RunContext:
        from automations.engine.subruns import SubRunner

        subs = SubRunner(self)
        return RunContext(
            credentials=credentials,
            execution_id=self.execution.pk,
            team_id=self.plan.automation.project.team_id,
            project_id=self.plan.automation.project_id,
            step_key=step.key,
            is_test=self.execution.is_test,
            deadline=self.deadline,
            run_sub_automation=subs.run,
            list_sub_automations=subs.describe,
            store_file=store_file,
            read_file=read_file,
        )

    def _call(
        self, action: Action, params: dict, context: RunContext, step: Step, position: int
    ) -> tuple[Any, int, int]:
        attempt = self.prior_attempts.get(position, 0)
        while True:
            attempt += 1
            try:
                output = action.run(params, context)
                return output, _json_size(output, f"{step.connector}.{step.action}"), attempt
            except ConnectorError as exc:
                out_of_time = time.monotonic() >= self.deadline
                if exc.sent and not _safe_to_repeat(action, params):
                    message = f"{exc.message} {MAY_HAVE_BEEN_APPLIED}"
                    raise StepFailed(message, timed_out=out_of_time, attempts=attempt) from None
                if out_of_time:
                    message = f"{exc.message} (the run's time limit was reached)"
                    raise StepFailed(message, timed_out=True, attempts=attempt) from None
                if not exc.retryable or attempt >= max(1, step.max_attempts):
                    suffix = f" (after {attempt} attempts)" if attempt > 1 else ""
                    raise StepFailed(exc.message + suffix, attempts=attempt) from None
                delay = backoff_delay(attempt, exc.retry_after)
                if time.monotonic() + delay > self.deadline:
                    raise StepFailed(
                        f"{exc.message} (no time left to retry)", timed_out=True, attempts=attempt
                    ) from None
                logger.info("Retrying step %s in %.2fs (attempt %d)", step.key, delay, attempt)
                if self.defer_retries and not self.recorder.truncated:
                    raise Deferred(exc.message, delay=delay, attempts=attempt) from None
                # Inline runs (an HTTP caller waits; a sub automation inside its parent's
                # step) wait here, bounded by their deadline.
                time.sleep(delay)
            except StepFailed as exc:
                exc.attempts = attempt
                raise
            except Exception as exc:
                raise internal_error(exc, step, attempts=attempt) from None


def _safe_to_repeat(action: Action, params: dict[str, Any]) -> bool:
    """Whether a request that may have reached the service can be sent again."""
    return not action.has_side_effects(params) or action.is_idempotent(params)


def _secret_values(account: ConnectedAccount | None, credentials: dict[str, Any]) -> list[Any]:
    if account is None:
        return []
    fields = registry.get(account.connector).account_fields
    return [credentials[key] for key in field_types.secret_keys(fields) if key in credentials]


def _ms(since: float) -> int:
    return int((time.monotonic() - since) * 1000)
