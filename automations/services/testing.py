"""Test Trigger, Test Action and the Suggested Data Elements of the wizard and the API."""

from __future__ import annotations

import json
import time
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils import timezone

from accounts.selectors import variable_list
from automations.engine.references import referenced_paths
from automations.engine.runner import Plan, Runner, load_plan
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


def step_test(*, automation: Automation, key: str) -> Execution:
    """Test Action: run one step for real, with the trigger's sample and the earlier
    steps' samples as its data; a success becomes the step's sample output."""

    plan = load_plan(automation.pk)
    keys = [step.key for step in plan.steps]
    if key not in keys:
        raise ValidationError({"step": f"there is no step {key!r}"})
    index = keys.index(key)
    step = plan.steps[index]
    sampled = [s for s in plan.steps[:index] if s.sample_output is not None]
    needed = {
        path.split(".")[1]
        for path in referenced_paths({**step.config})
        if path.startswith("steps.")
    }
    unsampled = [
        s.name or s.key for s in plan.steps[:index] if s.key in needed and s not in sampled
    ]
    if unsampled:
        names = ", ".join(repr(n) for n in unsampled)
        raise ValidationError({"step": f"Test {names} first: this step uses its output."})
    if "trigger." in json.dumps(step.config) and automation.trigger_sample is None:
        raise ValidationError({"step": "Test the trigger first: this step uses its output."})
    # Only this step runs; the earlier ones lend their samples.
    execution = Execution(
        automation=automation, status=Status.RUNNING, is_test=True,
        trigger_output=automation.trigger_sample or {}, resume_position=len(sampled),
        started_at=timezone.now(),
    )  # fmt: skip

    runner = Runner(
        Plan(automation=plan.automation, steps=[*sampled, step]), execution,
        deadline=time.monotonic() + settings.SYNC_RESPONSE_TIMEOUT, flush_each_step=False,
        previous_outputs={str(i): s.sample_output for i, s in enumerate(sampled)},
    )  # fmt: skip
    runner.run()
    if execution.status == Status.SUCCEEDED:
        output = execution.step_runs.get(path=str(len(sampled))).output
        Step.objects.filter(pk=step.pk).update(sample_output=output)
    return execution


def data_suggestions(*, automation: Automation, before: str | None = None) -> list[dict[str, Any]]:
    """The references a step's fields can use: the trigger sample and the samples of the
    steps before ``before`` (all steps when it is None)."""

    earlier = []
    for step in automation.steps.order_by("position", "pk"):
        if step.key == before:
            break
        earlier.append((step.key, step.name or step.key, step.sample_output))
    variables = [
        (v.name, v.is_secret, v.value)
        for v in variable_list(team=automation.project.team).only("name", "is_secret", "value")
    ]
    return suggestions(automation.trigger_sample, earlier, variables)
