"""Switching an automation on together with the sub automations it calls: a parent
never runs while a sub automation it names is off or incomplete."""

from __future__ import annotations

from django.core.exceptions import NON_FIELD_ERRORS, ValidationError

from automations import documents
from automations.definitions import (
    clean_definition,
    describe_errors,
    sub_automation_names_used,
)
from automations.models import Automation
from automations.services import registration


def sub_automations_of(automation: Automation) -> list[Automation]:
    """The sub automations of its project that the automation's steps name."""
    names = sub_automation_names_used(documents.automation_definition(automation)["steps"])
    subs = Automation.objects.filter(
        project_id=automation.project_id,
        name__in=names,
        trigger_connector="sub_automation",
        trigger_key="called",
    ).exclude(pk=automation.pk)
    found = {a.name: a for a in subs}
    return [found[name] for name in names if name in found]


def automation_activate(*, automation: Automation, actor=None) -> Automation:
    """Switch on, once the definition is complete and every sub automation it names is
    on; every problem is reported at once."""
    if automation.active:
        return automation
    errors: dict[str, list[str]] = {}
    try:
        clean_definition(
            automation.project.team,
            documents.automation_definition(automation),
            existing=automation,
            partial=False,
        )
    except ValidationError as exc:
        errors.update(exc.message_dict)
    inactive = [a.name for a in sub_automations_of(automation) if not a.active]
    if inactive:
        errors.setdefault(NON_FIELD_ERRORS, []).append(
            f"It calls sub automations that are not active: {', '.join(inactive)}. "
            "Activate them first, or activate them together with this one."
        )
    if errors:
        raise ValidationError(errors)
    return registration.automation_activate(automation=automation, actor=actor)


def _activation_order(automation: Automation, seen: set[int]) -> list[Automation]:
    """Sub automations first (depth first), each once, the automation last."""
    seen.add(automation.pk)
    order: list[Automation] = []
    for sub in sub_automations_of(automation):
        if sub.pk not in seen:
            order.extend(_activation_order(sub, seen))
    return [*order, automation]


def automation_activate_together(*, automation: Automation, actor=None) -> list[Automation]:
    """Activate the automation and every inactive sub automation it calls, in an order
    where each is switched on after those it calls; all or none. Returns those switched
    on.

    Not one transaction: activation registers with outside services and must not hold a
    row lock while it does (see registration). "None" is kept by switching off again
    what this call switched on when a later one fails."""
    activated: list[Automation] = []
    for item in _activation_order(automation, set()):
        if item.active:
            continue
        try:
            registration.automation_activate(automation=item, actor=actor)
        except ValidationError as exc:
            for done in reversed(activated):
                registration.automation_deactivate(automation=done, actor=actor)
            lines = describe_errors(exc.message_dict, documents.automation_definition(item))
            raise ValidationError(
                {NON_FIELD_ERRORS: [f"{item.name}: {line}" for line in lines]}
            ) from None
        activated.append(item)
    return activated
