"""Writes for projects, automations, steps and executions.

The API, the wizard, the admin actions, tasks and management commands all come here.
"""

from __future__ import annotations

import json
import secrets
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django_q.tasks import async_task

from accounts import selectors as account_selectors
from accounts.models import ConnectedAccount, Team
from automations import documents
from automations.definitions import CleanDefinition, clean_definition
from automations.engine.references import referenced_paths
from automations.models import Automation, DeliveryReceipt, Execution, Project, Status, Step
from connectors import registry
from connectors.base import ConnectorError, RunContext, TriggerSetup

RUN_TASK = "automations.tasks.run_execution"


def project_create(*, team: Team, name: str, description: str = "") -> Project:
    name = (name or "").strip()
    if not name:
        raise ValidationError({"name": "is required"})
    if Project.objects.filter(team=team, name=name).exists():
        raise ValidationError({"name": f"the team already has a project named {name!r}"})
    return Project.objects.create(team=team, name=name, description=description)


def _apply(automation: Automation, clean: CleanDefinition) -> Automation:
    changed_trigger = (
        automation.trigger_connector != clean.trigger_connector
        or automation.trigger_key != clean.trigger_key
    )
    automation.name = clean.name
    automation.description = clean.description
    automation.trigger_connector = clean.trigger_connector
    automation.trigger_key = clean.trigger_key
    automation.trigger_account = clean.trigger_account
    automation.trigger_config = clean.trigger_config
    automation.trigger_conditions = clean.trigger_conditions
    kept = {} if changed_trigger or not automation.has_secrets else automation.get_secrets()
    automation.set_secrets({**kept, **clean.trigger_secrets})
    if changed_trigger:
        automation.trigger_sample = None
    try:
        with transaction.atomic():
            automation.save()
    except IntegrityError:
        raise ValidationError(
            {"name": f"the project already has an automation named {clean.name!r}"}
        ) from None
    existing = {step.key: step for step in automation.steps.all()}
    for position, item in enumerate(clean.steps):
        step = existing.pop(item.key, None)
        same = step is not None and (step.connector, step.action) == (item.connector, item.action)
        if step is None:
            step = Step(automation=automation, key=item.key)
        kept = step.get_secrets() if same and step.has_secrets else {}
        if not same:
            step.sample_output = None
        step.position = position
        step.name = item.name
        step.connector, step.action = item.connector, item.action
        step.account = item.account
        step.config = item.config
        step.max_attempts = item.max_attempts
        step.set_secrets({**kept, **item.secrets})
        step.save()
    Step.objects.filter(pk__in=[step.pk for step in existing.values()]).delete()
    return automation


@transaction.atomic
def automation_create(
    *, project: Project, data: dict[str, Any], created_by=None, partial: bool = False
) -> Automation:
    clean = clean_definition(project.team, data, partial=partial)
    if Automation.objects.filter(project=project, name=clean.name).exists():
        raise ValidationError(
            {"name": f"the project already has an automation named {clean.name!r}"}
        )
    return _apply(Automation(project=project, created_by=created_by), clean)


def automation_definition(automation: Automation) -> dict[str, Any]:
    """The automation as a definition with account ids (secrets left out)."""
    document = documents.automation_to_document(automation)
    document.pop("format")
    document["trigger"]["account"] = automation.trigger_account_id
    accounts = dict(automation.steps.values_list("key", "account_id"))
    for step in document["steps"]:
        step["account"] = accounts.get(step["key"])
    return document


@transaction.atomic
def automation_update(
    *, automation: Automation, data: dict[str, Any], partial: bool = False
) -> Automation:
    """Replace the parts of the definition that ``data`` names; keep the rest."""
    automation = Automation.objects.select_for_update().get(pk=automation.pk)
    merged = {**automation_definition(automation), **data}
    # An active automation must stay complete: no drafts while it runs.
    clean = clean_definition(
        automation.project.team,
        merged,
        existing=automation,
        partial=partial and not automation.active,
    )
    if not automation.active:
        return _apply(automation, clean)
    before = _trigger_identity(automation)
    old_trigger = registry.get(automation.trigger_connector).trigger(automation.trigger_key)
    old_setup, old_state = _trigger_setup(automation), automation.trigger_state or {}
    automation = _apply(automation, clean)
    if _trigger_identity(automation) != before:
        # Re-register with the service so that what it sends matches the new trigger.
        new_trigger = registry.get(automation.trigger_connector).trigger(automation.trigger_key)
        try:
            old_trigger.deactivate(old_setup, old_state)
            _generate_secrets(automation, new_trigger)
            automation.trigger_state = new_trigger.activate(_trigger_setup(automation)) or {}
        except ConnectorError as exc:
            raise ValidationError(
                {"trigger": f"could not be registered again: {exc.message}"}
            ) from None
        automation.save(update_fields=["trigger_state", "updated_at"])
        _sync_schedule(automation, new_trigger)
    return automation


def _trigger_identity(automation: Automation) -> tuple:
    """Everything a trigger registers with its service depends on."""
    return (
        automation.trigger_connector,
        automation.trigger_key,
        automation.trigger_account_id,
        automation.trigger_config,
        automation.get_secrets() if automation.has_secrets else {},
    )


def _trigger_setup(automation: Automation) -> TriggerSetup:
    from automations.selectors import public_hooks_base, webhook_url

    account = _trigger_account(automation)
    return TriggerSetup(
        config=automation.trigger_config,
        secrets=automation.get_secrets(),
        credentials=account.credentials() if account else {},
        hook_url=webhook_url(automation) if public_hooks_base() else None,
        automation_name=automation.name,
    )


def _trigger_account(automation: Automation) -> ConnectedAccount | None:
    try:
        return account_selectors.account_for_run(
            team_id=automation.project.team_id, pk=automation.trigger_account_id
        )
    except account_selectors.AccountOfAnotherTeam as exc:
        raise ValidationError({"trigger.account": exc.message}) from None


def automation_activate(*, automation: Automation) -> Automation:
    """Switch on: the definition must be complete, and the trigger registers itself with
    its service where it can."""
    clean_definition(
        automation.project.team,
        automation_definition(automation),
        existing=automation,
        partial=False,
    )
    if automation.active:
        return automation
    trigger = registry.get(automation.trigger_connector).trigger(automation.trigger_key)
    _generate_secrets(automation, trigger)
    try:
        state = trigger.activate(_trigger_setup(automation))
    except ConnectorError as exc:
        raise ValidationError({"trigger": f"could not be activated: {exc.message}"}) from None
    automation.trigger_state = state or {}
    automation.active = True
    automation.save(update_fields=["active", "trigger_state", "updated_at"])
    _sync_schedule(automation, trigger)
    return automation


def _sync_schedule(automation: Automation, trigger) -> None:
    """A scheduled trigger has a django-q2 schedule exactly while its automation is on."""
    from automations.schedules import automation_schedule_clear, automation_schedule_set

    minutes = trigger.interval_minutes(automation.trigger_config) if trigger else None
    if automation.active and trigger is not None and trigger.delivery == "schedule" and minutes:
        automation_schedule_set(automation_id=automation.pk, minutes=minutes)
    else:
        automation_schedule_clear(automation_id=automation.pk)


def _generate_secrets(automation: Automation, trigger) -> None:
    """A shared secret the trigger registers with its service itself is made here when
    the user left it blank. Without a public URL the user sets the webhook up by hand,
    so the secret must be one they chose (it is never shown back)."""
    stored = automation.get_secrets() if automation.has_secrets else {}
    missing = [key for key in trigger.generated_secrets if not stored.get(key)]
    if not missing:
        return
    if not settings.PUBLIC_BASE_URL and not settings.HOOKS_BASE_URL:
        labels = {f.key: f.label for f in trigger.fields}
        names = ", ".join(labels.get(key, key) for key in missing)
        raise ValidationError(
            {"trigger.config": f"Set the {names}: without PUBLIC_BASE_URL the webhook is set "
             "up by hand in the service, with the URL shown and the secret you choose."}
        )  # fmt: skip
    automation.set_secrets({**stored, **{key: secrets.token_urlsafe(32) for key in missing}})
    automation.save(update_fields=["secrets_encrypted", "updated_at"])


def automation_deactivate(*, automation: Automation) -> Automation:
    if not automation.active:
        return automation
    trigger = registry.get(automation.trigger_connector).trigger(automation.trigger_key)
    try:
        trigger.deactivate(_trigger_setup(automation), automation.trigger_state or {})
    except ConnectorError as exc:
        raise ValidationError({"trigger": f"could not be deactivated: {exc.message}"}) from None
    automation.trigger_state = {}
    automation.active = False
    automation.save(update_fields=["active", "trigger_state", "updated_at"])
    _sync_schedule(automation, trigger)
    return automation


def automation_delete(*, automation: Automation) -> None:
    automation_deactivate(automation=automation)
    automation.delete()


def automation_import(
    *,
    project: Project,
    document: Any,
    created_by=None,
    name: str | None = None,
    partial: bool = False,
) -> Automation:
    """Create an automation from a document. ``partial`` lets required parts (an
    account, say) stay empty, for drafts the user completes before activating."""
    definition, errors = documents.document_definition(document)
    if errors:
        raise ValidationError(errors)
    if name:
        definition["name"] = name
    return automation_create(
        project=project, data=definition, created_by=created_by, partial=partial
    )


def _free_name(project: Project, name: str) -> str:
    taken = set(project.automations.values_list("name", flat=True))
    candidate, n = name, 2
    while candidate in taken:
        candidate, n = f"{name} ({n})", n + 1
    return candidate


@transaction.atomic
def blueprint_use(
    *, project: Project, key: str, accounts: dict[str, int] | None = None, created_by=None
) -> list[Automation]:
    """Create a blueprint's automations in a project, inactive. ``accounts`` maps a
    connector to an account of the team, put into every step and trigger that needs one;
    the others are left for the user to choose."""
    from automations.blueprints import blueprint

    found = blueprint(key)
    if found is None:
        raise ValidationError({"key": f"there is no template {key!r}"})
    accounts = accounts or {}
    renamed: dict[str, str] = {}
    created = []
    for document in found["documents"]:
        document = json.loads(json.dumps(document))
        new_name = _free_name(project, document["name"])
        renamed[document["name"]] = new_name
        for part in [document["trigger"], *document["steps"]]:
            if part.get("account") is None and part["connector"] in accounts:
                part["account"] = accounts[part["connector"]]
            names = part.get("config", {}).get("sub_automations")
            if names:
                part["config"]["sub_automations"] = [renamed.get(n, n) for n in names]
        created.append(
            automation_import(
                project=project,
                document=document,
                created_by=created_by,
                name=new_name,
                partial=True,
            )  # fmt: skip
        )
    return created


def automation_export(*, automation: Automation) -> dict[str, Any]:
    return documents.automation_to_document(automation)


# -- executions -----------------------------------------------------------------------


def execution_enqueue(
    *, automation: Automation, trigger_output: Any, is_test: bool = False
) -> Execution:
    """Record a queued execution and hand its id to a worker once the row is committed."""
    execution = Execution.objects.create(
        automation=automation, status=Status.QUEUED, trigger_output=trigger_output, is_test=is_test
    )
    _enqueue(execution.pk)
    return execution


def _enqueue(execution_id: int) -> None:
    transaction.on_commit(
        lambda: async_task(RUN_TASK, execution_id, task_name=f"execution-{execution_id}")
    )


def execution_retry(*, execution: Execution) -> Execution:
    """Run a failed execution again from the step that failed, with the outputs of the
    steps before it."""
    if execution.status not in (Status.FAILED, Status.TIMED_OUT, Status.CANCELLED):
        raise ValidationError("Only a failed, timed out or cancelled execution can be retried.")
    if execution.parent_id:
        raise ValidationError("Retry the parent execution; this one was started by it.")
    failed = execution.step_runs.exclude(status=Status.SUCCEEDED).order_by("position").first()
    resume = failed.position if failed else 0
    reusable = execution.step_runs.filter(
        position__lt=resume, status=Status.SUCCEEDED, output_truncated=False
    ).count()
    if reusable < resume:
        resume = 0  # an earlier output was too large to keep: start over
    retry = Execution.objects.create(
        automation=execution.automation, status=Status.QUEUED,
        trigger_output=execution.trigger_output, retry_of=execution, resume_position=resume,
        is_test=execution.is_test,
    )  # fmt: skip
    _enqueue(retry.pk)
    return retry


def execution_prune(*, days: int | None = None) -> int:
    """Delete top-level executions older than the retention period (children go with them)."""
    days = settings.EXECUTION_RETENTION_DAYS if days is None else days
    cutoff = timezone.now() - timedelta(days=days)
    deleted, _ = Execution.objects.filter(created_at__lt=cutoff, parent__isnull=True).delete()
    DeliveryReceipt.objects.filter(received_at__lt=cutoff).delete()
    return deleted


def execution_reap_stale() -> int:
    """Executions left running or queued by a worker that died: past twice the run time
    limit they are marked timed out, with a message saying so, and keep their log."""
    cutoff = timezone.now() - timedelta(seconds=2 * settings.RUN_TIME_LIMIT)
    return Execution.objects.filter(
        status__in=[Status.RUNNING, Status.QUEUED], created_at__lt=cutoff
    ).update(
        status=Status.TIMED_OUT,
        finished_at=timezone.now(),
        error="The run did not finish: its worker stopped, or no worker took it in time.",
    )


def secrets_rotate() -> int:
    """Re-encrypt every stored secret (accounts, trigger and step secrets) under the
    newest key, so that old keys can be dropped."""
    from accounts import crypto
    from accounts.services import account_rotate_encryption

    count = account_rotate_encryption()
    for model in (Automation, Step):
        for row in model.objects.exclude(secrets_encrypted="").only("pk", "secrets_encrypted"):
            row.secrets_encrypted = crypto.rotate(row.secrets_encrypted)
            row.save(update_fields=["secrets_encrypted"])
            count += 1
    return count


def automation_run(
    *, automation: Automation, payload: Any, wait: bool = False, is_test: bool = False
) -> Execution:
    """Start a run with ``payload`` as the event: queued, or inline when ``wait``."""
    from automations.engine.runner import load_plan
    from automations.engine.start import run_inline

    if not automation.trigger_connector:
        raise ValidationError({"trigger": "is not configured yet"})
    trigger = registry.get(automation.trigger_connector).trigger(automation.trigger_key)
    try:
        output = trigger.accept_payload(payload, automation.trigger_config)
    except ConnectorError as exc:
        raise ValidationError({"payload": exc.message}) from None
    if wait:
        execution = run_inline(load_plan(automation.pk), output, is_test=is_test)
        return execution
    return execution_enqueue(automation=automation, trigger_output=output, is_test=is_test)


# -- tests from the wizard and the API ---------------------------------------------------


def _test_context(automation: Automation, account) -> RunContext:
    import time

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
            automation.trigger_config, _test_context(automation, _trigger_account(automation))
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
    from automations.engine.runner import Plan, Runner, load_plan

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
    import time

    runner = Runner(
        Plan(automation=plan.automation, steps=[*sampled, step]), execution,
        deadline=time.monotonic() + settings.SYNC_RESPONSE_TIMEOUT, flush_each_step=False,
        previous_outputs={s.key: s.sample_output for s in sampled},
    )  # fmt: skip
    runner.run()
    if execution.status == Status.SUCCEEDED:
        output = execution.step_runs.get(position=len(sampled)).output
        Step.objects.filter(pk=step.pk).update(sample_output=output)
    return execution


def data_suggestions(*, automation: Automation, before: str | None = None) -> list[dict[str, Any]]:
    """The references a step's fields can use: the trigger sample and the samples of the
    steps before ``before`` (all steps when it is None)."""
    from automations.engine.suggestions import suggestions

    earlier = []
    for step in automation.steps.order_by("position", "pk"):
        if step.key == before:
            break
        earlier.append((step.key, step.name or step.key, step.sample_output))
    return suggestions(automation.trigger_sample, earlier)


def automation_run_scheduled(*, automation_id: int) -> Execution | None:
    """A schedule's tick: run now in this worker, unless the automation was switched off
    or its conditions do not hold."""
    from automations.engine.conditions import conditions_hold
    from automations.engine.start import run_queued

    automation = Automation.objects.filter(pk=automation_id, active=True).first()
    if automation is None:
        return None
    trigger = registry.get(automation.trigger_connector).trigger(automation.trigger_key)
    output = trigger.accept_payload({}, automation.trigger_config)
    if not conditions_hold(automation.trigger_conditions, output):
        return None
    execution = Execution.objects.create(
        automation=automation, status=Status.QUEUED, trigger_output=output
    )
    return run_queued(execution.pk)
