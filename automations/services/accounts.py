"""What deleting a connected account does to the automations that use it."""

from __future__ import annotations

from django.db import transaction
from django.db.models import Q

from accounts import services as account_services
from accounts.models import ConnectedAccount
from automations.models import Automation, Step
from automations.services.registration import automation_deactivate
from automations.services.versions import automation_touch


def automations_using(*, account: ConnectedAccount) -> list[Automation]:
    return list(
        Automation.objects.filter(
            Q(trigger_account=account) | Q(steps__account=account), project__team=account.team
        )
        .distinct()
        .select_related("project")
        .order_by("project__name", "name")
    )


def account_delete_everywhere(*, account: ConnectedAccount, actor=None) -> list[Automation]:
    """Delete an account the user confirmed deleting although automations use it: each
    of them is switched off first (a registered trigger is removed with the account's
    own credentials), then loses the account (to be chosen again before activating)."""
    used = automations_using(account=account)
    for automation in used:
        if automation.active or automation.trigger_state:
            automation_deactivate(automation=automation, actor=actor)
    with transaction.atomic():
        Step.objects.filter(account=account).update(account=None)
        Automation.objects.filter(trigger_account=account).update(trigger_account=None)
        for automation in used:
            automation_touch(automation_id=automation.pk)
        account_services.account_delete(account=account, actor=actor)
    return used
