"""Runs an automation's steps for one execution.

For each step the runner resolves the step's references against the trigger output and
the earlier steps' outputs, type-checks the result against the action's fields, calls
the action (retrying errors that say a retry can help, with exponential backoff and
jitter), and records a StepRun. A failing step fails the execution with its message.
"""

from __future__ import annotations

import json
import logging
import random
import threading
import time
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from django.conf import settings
from django.db.models import Prefetch
from django.utils import timezone

from accounts import selectors as account_selectors
from accounts.models import ConnectedAccount
from automations import metrics
from automations.engine.files import read_file, store_file
from automations.engine.recorder import REDACTED, Recorder
from automations.engine.references import BadReference, resolve
from automations.models import Automation, Execution, Status, Step
from config.logs import run_context
from connectors import fields as field_types
from connectors import registry
from connectors.base import Action, ConnectorError, RunContext

logger = logging.getLogger(__name__)


class StepFailed(Exception):
    def __init__(self, message: str, *, timed_out: bool = False, attempts: int = 0) -> None:
        super().__init__(message)
        self.message = message
        self.timed_out = timed_out
        self.attempts = attempts


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
    is a floor."""
    ceiling = min(settings.RETRY_MAX_DELAY, settings.RETRY_BASE_DELAY * 2 ** (attempt - 1))
    delay = ceiling * random.uniform(0.5, 1.0)
    if retry_after is not None:
        delay = max(delay, retry_after)
    return delay


def _json_size(value: Any, what: str) -> int:
    """The length of the output's JSON, which also proves it is JSON."""
    try:
        return len(json.dumps(value, ensure_ascii=False))
    except (TypeError, ValueError):
        raise StepFailed(f"{what} returned data that is not JSON.") from None


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
    ) -> None:
        self.plan = plan
        self.execution = execution
        self.deadline = deadline
        self.flush_each_step = flush_each_step
        self.ancestry = (*ancestry, plan.automation.pk)
        self.previous_outputs = previous_outputs or {}
        self.recorder = Recorder(execution, secrets=frozenset())
        self.recorder.add_secrets(list(plan.automation.get_secrets().values()))
        self.result: Any = None
        self.tokens = 0
        self.lock = threading.Lock()
        # Read fresh for every run (plans may be cached): a changed key applies at once.
        # A sub automation's run shares what its parent run has read already.
        self.team_id = plan.automation.project.team_id
        self.accounts = dict(accounts or {})
        missing = {s.account_id for s in plan.steps if s.account_id} - set(self.accounts)
        if missing:
            self.accounts.update(
                account_selectors.accounts_of_team(team_id=self.team_id, ids=missing)
            )

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
        data: dict[str, Any] = {"trigger": execution.trigger_output, "steps": {}}
        response = None
        try:
            for position, step in enumerate(self.plan.steps):
                if position < execution.resume_position and step.key in self.previous_outputs:
                    data["steps"][step.key] = self._reuse(position, step)
                    continue
                if time.monotonic() > self.deadline:
                    raise StepFailed("The run's time limit was reached.", timed_out=True)
                output, responds = self._run_step(position, step, data)
                data["steps"][step.key] = output
                self.result = output
                if responds and response is None:
                    response = output
                if self.flush_each_step and flush:
                    self.recorder.flush()
        except StepFailed as exc:
            status = Status.TIMED_OUT if exc.timed_out else Status.FAILED
            self.recorder.finish(
                status=status, error=exc.message, response=response, tokens=self.tokens
            )
        else:
            self.recorder.finish(status=Status.SUCCEEDED, response=response, tokens=self.tokens)
        if response is not None:
            self.result = response.get("body")
        if flush:
            self.recorder.flush()
        return execution

    def _reuse(self, position: int, step: Step) -> Any:
        output = self.previous_outputs[step.key]
        self.recorder.step_run(
            step_key=step.key, position=position, connector=step.connector, action=step.action,
            status=Status.SUCCEEDED, input=None, output=output, error="", attempts=0,
            started_at=timezone.now(), duration_ms=0, reused=True,
        )  # fmt: skip
        return output

    def _run_step(self, position: int, step: Step, data: dict[str, Any]) -> tuple[Any, bool]:
        started_at, clock = timezone.now(), time.monotonic()
        label = step.name or step.key
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
            output, size, attempts = self._call(action, params, context, step)
        except StepFailed as exc:
            tokens = context.usage.get("tokens", 0) if context else 0
            self.tokens += tokens
            self.recorder.step_run(
                **record, status=Status.TIMED_OUT if exc.timed_out else Status.FAILED,
                input=logged_input, output=None, error=exc.message, attempts=exc.attempts,
                duration_ms=_ms(clock), tokens=tokens,
            )  # fmt: skip
            raise StepFailed(
                f"Step '{label}' failed: {exc.message}", timed_out=exc.timed_out
            ) from None
        tokens = context.usage.get("tokens", 0)
        self.tokens += tokens
        self.recorder.step_run(
            **record, status=Status.SUCCEEDED, input=logged_input, output=output, error="",
            attempts=attempts, duration_ms=_ms(clock), tokens=tokens, output_size=size,
        )  # fmt: skip
        return output, action.responds

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
                raise StepFailed(f"field '{key}': {exc.message}") from None
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
        self, action: Action, params: dict, context: RunContext, step: Step
    ) -> tuple[Any, int]:
        attempt = 0
        while True:
            attempt += 1
            try:
                output = action.run(params, context)
                return output, _json_size(output, f"{step.connector}.{step.action}"), attempt
            except ConnectorError as exc:
                if not exc.retryable or attempt >= max(1, step.max_attempts):
                    suffix = f" (after {attempt} attempts)" if attempt > 1 else ""
                    raise StepFailed(exc.message + suffix, attempts=attempt) from None
                delay = backoff_delay(attempt, exc.retry_after)
                if time.monotonic() + delay > self.deadline:
                    raise StepFailed(
                        f"{exc.message} (no time left to retry)", timed_out=True, attempts=attempt
                    ) from None
                logger.info("Retrying step %s in %.2fs (attempt %d)", step.key, delay, attempt)
                time.sleep(delay)
            except StepFailed as exc:
                exc.attempts = attempt
                raise
            except Exception as exc:
                logger.exception("Step %s (%s.%s) crashed", step.key, step.connector, step.action)
                raise StepFailed(
                    f"Unexpected error: {type(exc).__name__}", attempts=attempt
                ) from None


def _secret_values(account: ConnectedAccount | None, credentials: dict[str, Any]) -> list[Any]:
    if account is None:
        return []
    fields = registry.get(account.connector).account_fields
    return [credentials[key] for key in field_types.secret_keys(fields) if key in credentials]


def _ms(since: float) -> int:
    return int((time.monotonic() - since) * 1000)
