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
from automations.engine import flow
from automations.engine.failures import execution_failed
from automations.engine.files import read_file, store_file
from automations.engine.outcomes import MAY_HAVE_BEEN_APPLIED, Deferred, StepFailed, Stopped
from automations.engine.paths import Address, iteration_of, not_after, parse_path, path_text
from automations.engine.recorder import REDACTED, Recorder
from automations.engine.references import BadReference, OutOfTime, Variables, resolve
from automations.engine.subruns import SubRunner
from automations.models import Automation, Execution, Status, Step
from config.logs import run_context
from connectors import fields as field_types
from connectors import registry
from connectors.base import Action, ConnectorError, RunContext

logger = logging.getLogger(__name__)


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
    """An automation and its top-level steps, loaded once for a run. Each step carries
    the lists it holds in ``step.nested`` ({"then": [...], "else": [...]}, {"do": [...]})."""

    automation: Automation
    steps: list[Step]

    @cached_property
    def all_steps(self) -> list[Step]:
        found: list[Step] = []

        def add(steps: list[Step]) -> None:
            for step in steps:
                found.append(step)
                for children in nested_of(step).values():
                    add(children)

        add(self.steps)
        return found

    @cached_property
    def responds(self) -> bool:
        """Whether a step answers the HTTP caller (so the run happens inline)."""
        for step in self.all_steps:
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
        return any(step.has_secrets or "vars" in json.dumps(step.config) for step in self.all_steps)

    @cached_property
    def side_effects(self) -> bool:
        """Whether a step may change something outside the run, judged by its saved
        config (where a reference counts as "may"). A run of a sub automation free of
        them has none either, so the step that runs it needs no write before it."""
        for step in self.all_steps:
            try:
                if registry.get(step.connector).action(step.action).has_side_effects(step.config):
                    return True
            except Exception:  # an unknown action, a config it cannot read: assume it may
                return True
        return False


def nested_of(step: Step) -> dict[str, list[Step]]:
    return getattr(step, "nested", None) or {}


def step_tree(steps: list[Step]) -> list[Step]:
    """The top-level steps, each with the lists it holds in ``nested``."""
    lists: dict[tuple[int | None, str], list[Step]] = {}
    by_pk = {}
    for step in steps:
        step.nested = {}
        by_pk[step.pk] = step
        lists.setdefault((step.parent_id, step.branch), []).append(step)
    for (parent, branch), children in lists.items():
        if parent is not None and parent in by_pk:
            by_pk[parent].nested[branch] = children
    return lists.get((None, ""), [])


def load_plan(automation_id: int) -> Plan:
    """The automation and its step tree, in two queries."""
    automation = (
        Automation.objects.select_related("project")
        .prefetch_related(Prefetch("steps", queryset=Step.objects.order_by("position", "pk")))
        .get(pk=automation_id)
    )
    return Plan(automation=automation, steps=step_tree(list(automation.steps.all())))


def backoff_delay(attempt: int, retry_after: float | None) -> float:
    """Exponential backoff with full jitter in its upper half; a server's Retry-After
    is a floor, itself capped at MAX_RETRY_AFTER (a server cannot park a run for hours)."""
    ceiling = min(settings.RETRY_MAX_DELAY, settings.RETRY_BASE_DELAY * 2 ** (attempt - 1))
    delay = ceiling * random.uniform(0.5, 1.0)
    if retry_after is not None:
        delay = max(delay, min(retry_after, settings.MAX_RETRY_AFTER))
    return delay


def _json_text(value: Any, what: str) -> str | None:
    """The output's JSON as the log checks it (``jsondata.encoded``), which also proves
    it is JSON; None when it is JSON the log keeps only in part (NaN, too deep, too long
    a number: the recorder says so)."""
    try:
        return json.dumps(value, ensure_ascii=False, allow_nan=False)
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
        previous_skipped: frozenset[str] = frozenset(),
        accounts: dict[int, ConnectedAccount] | None = None,
        defer_retries: bool = False,
        prior_attempts: dict[str, int] | None = None,
        on_step: Callable[[], None] | None = None,
        loop: dict[str, Any] | None = None,
    ) -> None:
        self.plan = plan
        # ``loop`` in scope from the start: Test Action of a step inside a loop runs it
        # alone, with the loop's first item.
        self.loop = loop
        self.execution = execution
        self.deadline = deadline
        self.flush_each_step = flush_each_step
        self.ancestry = (*ancestry, plan.automation.pk)
        # Outputs of steps that ran before (this execution's own, or those of the run it
        # retries), by path; steps up to the resume path take them instead of running.
        self.previous_outputs = previous_outputs or {}
        self.previous_skipped = previous_skipped
        self.resume = resume_address(execution)
        # Steps of branches not taken: key -> why a reference to it fails.
        self.skipped: dict[str, str] = {}
        self.response: Any = None
        # A background run waits for a retry in the queue, not in its worker; the attempts
        # a step made before such a wait count towards its limit.
        self.defer_retries = defer_retries
        self.prior_attempts = prior_attempts or {}
        self.on_step = on_step
        self._address: Address = (0,)
        self.recorder = Recorder(execution, secrets=frozenset())
        self.result: Any = None
        self.tokens = 0
        self.lock = threading.Lock()
        self.team_id = plan.automation.project.team_id
        self.accounts = dict(accounts or {})
        # Each account's credentials, decrypted once per run (a sub run shares its
        # parent's): the accounts themselves are read fresh for every run.
        self.credentials: dict[int, dict[str, Any]] = {}
        self.variables = Variables({})
        # Whether this run writes its own log (a sub automation's is written by its parent).
        self.writes = True

    def _prepare(self) -> None:
        """What may fail before the first step (a secret that cannot be decrypted, the
        database), done inside the run so that it fails the run."""
        self.recorder.add_secrets(list(self.plan.automation.get_secrets().values()))
        # Read fresh for every run (plans may be cached): a changed key applies at once.
        # A sub automation's run shares what its parent run has read already.
        missing = {s.account_id for s in self.plan.all_steps if s.account_id} - set(self.accounts)
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
        if self.loop is not None:
            data["loop"] = self.loop
        try:
            self._prepare()
            data["vars"] = self.variables
            self.walk(self.plan.steps, (), data)
        except Deferred as exc:
            execution.status = Status.QUEUED
            execution.resume_position = int(self._address[0])
            execution.resume_path = path_text(self._address)
            execution.not_before = timezone.now() + timedelta(seconds=exc.delay)
            if exc.waiting:
                execution.waited_seconds += round(exc.delay)
            execution.enqueued_at = None
            execution.lease_until = None
            if flush:
                self.recorder.flush()
            return execution
        except Stopped as exc:
            error = "" if exc.outcome == Status.SUCCEEDED else exc.message
            self.recorder.finish(
                status=exc.outcome, error=error, response=self.response, tokens=self.tokens
            )
        except StepFailed as exc:
            status = Status.TIMED_OUT if exc.timed_out else Status.FAILED
            self.recorder.finish(
                status=status, error=exc.message, response=self.response, tokens=self.tokens
            )
        except Exception as exc:
            error = internal_error(exc).message
            self.recorder.finish(
                status=Status.FAILED, error=error, response=self.response, tokens=self.tokens
            )
        else:
            self.recorder.finish(
                status=Status.SUCCEEDED, response=self.response, tokens=self.tokens
            )
        if self.response is not None:
            self.result = self.response.get("body")
        if flush:
            self.recorder.flush()
            execution_failed(execution)
        return execution

    def walk(self, steps: list[Step], prefix: Address, data: dict[str, Any]) -> None:
        """Run one list of steps (the top level, a branch, one iteration of a loop body)."""
        for index, step in enumerate(steps):
            address = (*prefix, index)
            text = path_text(address)
            if self._reusable(step, address, text):
                self._reuse(address, step, data)
                continue
            if self.on_step:
                self.on_step()
            if time.monotonic() > self.deadline:
                raise StepFailed("The run's time limit was reached.", timed_out=True)
            action = self._action(step)
            if action.control in ("branch", "loop"):
                flow.run_holder(self, address, step, action, data)
            else:
                self._run_leaf(address, step, action, data)
            last = not prefix and index == len(steps) - 1
            # After the run's last step the final write (its status) takes this step's
            # log with it, in the same transaction.
            if self.flush_each_step and self.writes and not last:
                self.recorder.flush()

    def _run_leaf(self, address: Address, step: Step, action: Action, data: dict) -> None:
        output, responds = self._run_step(address, step, data)
        data["steps"][step.key] = output
        self.result = output
        if responds and self.response is None:
            self.response = output
        if action.control == "delay":
            self._delay(step, float(output["seconds"]))
        elif action.control == "stop":
            raise Stopped(output["outcome"], output["message"] or f"Stopped at '{_label(step)}'.")

    def _delay(self, step: Step, seconds: float) -> None:
        """A background run goes back to the queue and continues after the delay (its
        row says the delay is done, so the continuation starts at the next step); a run
        someone waits for sits it out, within its deadline."""
        if self.defer_retries and not self.recorder.truncated:
            raise Deferred(f"Waiting {seconds:g} s", delay=seconds, attempts=0, waiting=True)
        if time.monotonic() + seconds > self.deadline:
            raise StepFailed(
                f"Step '{_label(step)}' failed: the run's time limit leaves no room for a "
                f"{seconds:g} s delay.",
                timed_out=True,
            )
        time.sleep(seconds)

    def _reusable(self, step: Step, address: Address, text: str) -> bool:
        # A branch or loop is walked again (cheaply: no side effects), its steps reused.
        if self.resume is None or nested_of(step):
            return False
        if text not in self.previous_outputs and text not in self.previous_skipped:
            return False
        return not_after(address, self.resume)

    def _reuse(self, address: Address, step: Step, data: dict[str, Any]) -> None:
        text = path_text(address)
        skipped = text in self.previous_skipped
        if skipped:
            self.skipped.setdefault(step.key, f"step '{_label(step)}' was skipped")
        else:
            data["steps"][step.key] = self.previous_outputs[text]
        if text in self.recorder.written:
            return  # this execution's own step, logged before it was resumed
        self.record(
            address, step, status=Status.SKIPPED if skipped else Status.SUCCEEDED, input=None,
            output=None if skipped else self.previous_outputs[text], error="", attempts=0,
            started_at=timezone.now(), duration_ms=0, reused=True,
        )  # fmt: skip

    def record(self, address: Address, step: Step, **values: Any) -> None:
        """Log one run of a step at its place in the tree."""
        self.recorder.step_run(
            step_key=step.key, position=int(address[0]), path=path_text(address),
            iteration=iteration_of(address), connector=step.connector, action=step.action,
            **values,
        )  # fmt: skip

    def _run_step(self, address: Address, step: Step, data: dict[str, Any]) -> tuple[Any, bool]:
        started_at, clock = timezone.now(), time.monotonic()
        label = step.name or step.key
        self._address = address
        position, path = int(address[0]), path_text(address)
        record = {
            "step_key": step.key, "position": position, "path": path,
            "iteration": iteration_of(address), "connector": step.connector,
            "action": step.action, "started_at": started_at,
        }  # fmt: skip
        logged_input: Any = None
        context = None
        try:
            action = self._action(step)
            secrets = step.get_secrets()
            account = self._account(step)
            credentials = self._credentials(account)
            self.recorder.add_secrets([*secrets.values(), *_secret_values(account, credentials)])
            logged_input = {**step.config, **{key: REDACTED for key in secrets}}
            params = self.params(action, step, {**step.config, **secrets}, data)
            logged_input = {**params, **{key: REDACTED for key in secrets}}
            if action.needs_account and account is None:
                raise StepFailed("This step needs an account; choose one in its settings.")
            subs = SubRunner(self)
            context = self._context(step, credentials, subs)
            side_effects = action.has_side_effects(params)
            if side_effects and action.sub_automations_field:
                # It acts only through the sub automations it runs: not at all when no
                # step of theirs may (the plans checked are the plans that then run).
                side_effects = subs.may_act(params.get(action.sub_automations_field))
            if side_effects:
                self._record_before_side_effect()
            if self.flush_each_step and side_effects:
                # Logged as started before the call: if this worker dies now, recovery
                # knows the action may have acted and fails the run for a person to check.
                self.recorder.step_started(**record, input=logged_input)
            output, text, attempts = self._call(action, params, context, step, path)
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
            attempts=attempts, duration_ms=_ms(clock), tokens=tokens, output_text=text,
        )  # fmt: skip
        return output, action.responds

    def _skipped_reference(self, exc: BadReference) -> str | None:
        """A reference to a step of a branch that was not taken, said so."""
        parts = exc.path.split(".")
        if len(parts) > 1 and parts[0] == "steps" and parts[1] in self.skipped:
            return (
                f"{{{{ {exc.path} }}}}: {self.skipped[parts[1]]} (add | default(...) to "
                "use a value instead)"
            )
        return None

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

    def _credentials(self, account: ConnectedAccount | None) -> dict[str, Any]:
        if account is None:
            return {}
        if account.pk not in self.credentials:
            self.credentials[account.pk] = account.credentials()
        # A copy: what one step's action does to its dict is no other step's business.
        return dict(self.credentials[account.pk])

    def params(self, action: Action, step: Step, raw: dict, data: dict) -> dict[str, Any]:
        resolved = {}
        for key, value in raw.items():
            try:
                resolved[key] = resolve(value, data, deadline=self.deadline)
            except BadReference as exc:
                message = self._skipped_reference(exc) or exc.message
                raise StepFailed(
                    f"field '{key}': {message}", timed_out=isinstance(exc, OutOfTime)
                ) from None
        clean, errors = action.validate(resolved, resolved=True)
        if errors:
            raise StepFailed(
                "; ".join(f"field '{key}' {message}" for key, message in errors.items())
            )
        return clean

    def _context(self, step: Step, credentials: dict[str, Any], subs: SubRunner) -> RunContext:
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
        self, action: Action, params: dict, context: RunContext, step: Step, path: str
    ) -> tuple[Any, int, int]:
        attempt = self.prior_attempts.get(path, 0)
        while True:
            attempt += 1
            try:
                output = action.run(params, context)
                return output, _json_text(output, f"{step.connector}.{step.action}"), attempt
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


def _label(step: Step) -> str:
    return step.name or step.key


def resume_address(execution: Execution) -> Address | None:
    """Where the execution continues: steps up to here reuse their earlier outputs.
    None: it starts from the beginning."""
    if execution.resume_path:
        return parse_path(execution.resume_path)
    if execution.resume_position:
        # Written before paths (or by Test Action): the steps before this position.
        return (execution.resume_position - 1,)
    return None
