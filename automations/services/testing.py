"""Test Trigger, Test Action and the Suggested Data Elements of the wizard and the API."""

from __future__ import annotations

import copy
import json
import time
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils import timezone

from accounts.selectors import variable_list
from automations import selectors
from automations.engine.references import referenced_paths
from automations.engine.runner import Plan, Runner, load_plan
from automations.engine.scope import first_iteration, step_scope
from automations.engine.suggestions import suggestions
from automations.models import Automation, Execution, Status, Step
from automations.services.registration import trigger_account
from connectors import registry
from connectors.base import ConnectorError, RunContext


def _test_context(automation: Automation, account) -> RunContext:

    return RunContext(
        credentials=account.credentials() if account else {},
        team_id=automation.project.team_id,
        project_id=automation.project_id,
        is_test=True,
        deadline=time.monotonic() + settings.SYNC_RESPONSE_TIMEOUT,
    )


def automation_test_trigger(*, automation: Automation) -> Any:
    """Test Trigger: a realistic sample output, fetched from the service where the
    trigger can; kept as the sample the data suggestions come from."""
    if not automation.trigger_connector:
        raise ValidationError({"trigger": "is not configured yet"})
    trigger = registry.get(automation.trigger_connector).trigger(automation.trigger_key)
    try:
        sample = trigger.sample(
            automation.trigger_config, _test_context(automation, trigger_account(automation))
        )
    except ConnectorError as exc:
        raise ValidationError({"trigger": exc.message}) from None
    if sample is None:
        raise ValidationError(
            {"trigger": "This trigger cannot make a sample; send it a real event."}
        )
    automation.trigger_sample = sample
    automation.save(update_fields=["trigger_sample"])
    return sample


def _leaf(step: Step) -> Step:
    # An earlier step lends its sample; a holder among them must not walk its lists again.
    lent = copy.copy(step)
    lent.nested = {}
    return lent


def step_test(*, automation: Automation, key: str) -> Execution:
    """Test Action: run one step for real, with the trigger's sample and the earlier
    steps' samples as its data, and inside a loop with the loop's first item; a success
    becomes the step's sample output."""

    plan = load_plan(automation.pk)
    scope = step_scope(plan.steps, key=key)
    if scope is None or scope.step is None:
        raise ValidationError({"step": f"there is no step {key!r}"})
    step = scope.step
    sampled = [s for s in scope.earlier if s.sample_output is not None]
    needed = {
        path.split(".")[1]
        for path in referenced_paths({**step.config})
        if path.startswith("steps.")
    }
    unsampled = [
        s.name or s.key for s in scope.earlier if s.key in needed and s.sample_output is None
    ]
    if unsampled:
        names = ", ".join(repr(n) for n in unsampled)
        raise ValidationError({"step": f"Test {names} first: this step uses its output."})
    config_text = json.dumps(step.config)
    if "trigger." in config_text and automation.trigger_sample is None:
        raise ValidationError({"step": "Test the trigger first: this step uses its output."})
    loop = None
    if scope.loops:
        samples = {s.key: s.sample_output for s in sampled}
        data = {"trigger": automation.trigger_sample or {}, "steps": samples}
        loop = first_iteration(scope.loops, data)
        if loop is None and "loop." in config_text:
            message = (
                "This step uses the loop's item, and the loop's items have no first item in "
                "the samples: test the trigger (or the step the items come from) first."
            )
            raise ValidationError({"step": message})
    # Only this step runs; the earlier ones lend their samples.
    execution = Execution(
        automation=automation, status=Status.RUNNING, is_test=True,
        trigger_output=automation.trigger_sample or {}, resume_position=len(sampled),
        started_at=timezone.now(),
    )  # fmt: skip

    runner = Runner(
        Plan(automation=plan.automation, steps=[*map(_leaf, sampled), step]), execution,
        deadline=time.monotonic() + settings.SYNC_RESPONSE_TIMEOUT, flush_each_step=False,
        previous_outputs={str(i): s.sample_output for i, s in enumerate(sampled)}, loop=loop,
    )  # fmt: skip
    runner.run()
    if execution.status == Status.SUCCEEDED:
        output = execution.step_runs.get(path=str(len(sampled))).output
        Step.objects.filter(pk=step.pk).update(sample_output=output)
    return execution


def data_suggestions(
    *,
    automation: Automation,
    before: str | None = None,
    parent: str | None = None,
    branch: str = "",
) -> list[dict[str, Any]]:
    """The references a step's fields can use: the trigger sample, the samples of the
    steps it may name (those before ``before``, or before a new step at the end of
    ``branch`` of ``parent``; all top-level ones when neither is given) and, inside a
    loop, ``loop.item`` and ``loop.index`` (with the loop's first item as example)."""

    scope = selectors.step_scope_of(
        automation=automation, before=before, parent=parent, branch=branch
    )
    earlier = [(s.key, s.name or s.key, s.sample_output) for s in scope.earlier]
    loop = None
    if scope.loops:
        samples = {s.key: s.sample_output for s in scope.earlier if s.sample_output is not None}
        data = {"trigger": automation.trigger_sample or {}, "steps": samples}
        loop = first_iteration(scope.loops, data) or {"item": None, "index": 0}
    variables = [
        (v.name, v.is_secret, v.value)
        for v in variable_list(team=automation.project.team).only("name", "is_secret", "value")
    ]
    return suggestions(automation.trigger_sample, earlier, variables, loop=loop)
