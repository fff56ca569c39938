"""Team variables: named values of a team that any field can reference as
``{{ vars.NAME }}``. Admins create, change and delete them; a secret one is encrypted
like an account's secrets, never shown again (only a masked hint), and redacted from
every execution log. Each change is recorded in the audit log, by name only."""

from __future__ import annotations

import re
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from accounts import crypto, roles
from accounts.audit import audit_record
from accounts.models import AuditKind, Team, TeamVariable
from accounts.services import team_require

# A Jinja name, so that {{ vars.NAME }} reads it: letters, digits and _, not first a digit.
NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")
MAX_VALUE_CHARS = 10_000
# Logs redact secrets of at least this length (shorter ones would redact ordinary words),
# so a shorter secret could show in a log: refused.
MIN_SECRET_CHARS = 6


def _clean_name(name: Any) -> str:
    if not isinstance(name, str) or not NAME.match(name.strip()):
        raise ValidationError(
            {"name": "must start with a letter or _, then letters, digits and _ (64 at most)"}
        )
    return name.strip()


def _clean_value(value: Any, secret: bool) -> str:
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise ValidationError({"value": "must be text"})
    value = str(value)
    if len(value) > MAX_VALUE_CHARS:
        raise ValidationError({"value": f"must be at most {MAX_VALUE_CHARS:,} characters"})
    if secret and len(value) < MIN_SECRET_CHARS:
        raise ValidationError(
            {"value": f"a secret must be at least {MIN_SECRET_CHARS} characters long"}
        )
    return value


def _put_value(variable: TeamVariable, value: str) -> None:
    if variable.is_secret:
        variable.value = ""
        variable.set_secrets({"value": value})
        variable.hint = crypto.mask(value)
    else:
        variable.value = value
        variable.set_secrets({})
        variable.hint = ""


def _save(variable: TeamVariable) -> None:
    try:
        with transaction.atomic():
            variable.save()
    except IntegrityError:
        raise ValidationError(
            {"name": f"the team already has a variable named {variable.name!r}"}
        ) from None


@transaction.atomic
def variable_create(
    *, actor, team: Team, name: Any, value: Any, secret: bool = False
) -> TeamVariable:
    team_require(actor=actor, team=team, action=roles.Action.MANAGE_VARIABLES)
    variable = TeamVariable(
        team=team,
        name=_clean_name(name),
        is_secret=bool(secret),
        created_by=actor if getattr(actor, "pk", None) else None,
    )
    _put_value(variable, _clean_value(value, variable.is_secret))
    _save(variable)
    audit_record(
        kind=AuditKind.VARIABLE_CREATED,
        team=team,
        actor=actor,
        obj=variable,
        summary="secret variable" if variable.is_secret else "plain variable",
    )
    return variable


@transaction.atomic
def variable_update(
    *,
    actor,
    variable: TeamVariable,
    name: Any = None,
    value: Any = None,
    secret: bool | None = None,
) -> TeamVariable:
    """Rename, give a new value, or make a plain variable secret. A secret stays secret
    (making it plain would show its value): delete it and create a plain one instead.
    A secret's value left out (None or "") keeps the stored one."""
    team_require(actor=actor, team=variable.team, action=roles.Action.MANAGE_VARIABLES)
    changed = []
    if name is not None and str(name).strip() != variable.name:
        new_name = _clean_name(name)
        changed.append(f"renamed from {variable.name!r}")
        variable.name = new_name
    if secret is not None and bool(secret) != variable.is_secret:
        if not secret:
            raise ValidationError(
                {"secret": "a secret variable cannot be made plain; delete it and add a new one"}
            )
        if value in (None, ""):
            value = variable.value
        variable.is_secret = True
        changed.append("made secret")
    if value is not None and not (variable.is_secret and value == ""):
        _put_value(variable, _clean_value(value, variable.is_secret))
        changed.append("new value")
    if not changed:
        return variable
    _save(variable)
    audit_record(
        kind=AuditKind.VARIABLE_CHANGED,
        team=variable.team,
        actor=actor,
        obj=variable,
        summary="; ".join(changed),
    )
    return variable


@transaction.atomic
def variable_delete(*, actor, variable: TeamVariable) -> None:
    """Delete a variable. Automations that reference it fail at that step, naming it,
    until a variable of that name exists again."""
    team_require(actor=actor, team=variable.team, action=roles.Action.MANAGE_VARIABLES)
    audit_record(kind=AuditKind.VARIABLE_DELETED, team=variable.team, actor=actor, obj=variable)
    variable.delete()
