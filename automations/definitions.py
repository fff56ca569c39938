"""An automation as plain data (name, trigger, steps), validated in one place.

The API, the import of automation documents and the wizard all hand a definition to
``clean_definition``; every problem is reported with its JSON path
(``steps[2].config.status: must be a number between 100 and 599``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import ValidationError

from accounts.models import ConnectedAccount, Team
from accounts.selectors import variable_names
from automations.engine.conditions import validate_conditions
from automations.engine.references import BadReference, referenced_paths
from automations.models import Automation
from connectors import fields as field_types
from connectors import registry
from connectors.base import Operation

STEP_KEY = re.compile(r"^[a-z][a-z0-9_]{0,49}$")


@dataclass
class CleanStep:
    key: str
    name: str
    connector: str
    action: str
    account: ConnectedAccount | None
    config: dict[str, Any]
    # Secrets given now; those not given keep their stored value.
    secrets: dict[str, Any]
    max_attempts: int


@dataclass
class CleanDefinition:
    name: str
    description: str
    trigger_connector: str = ""
    trigger_key: str = ""
    trigger_account: ConnectedAccount | None = None
    trigger_config: dict[str, Any] = field(default_factory=dict)
    trigger_secrets: dict[str, Any] = field(default_factory=dict)
    trigger_conditions: list[dict[str, Any]] = field(default_factory=list)
    steps: list[CleanStep] = field(default_factory=list)


class _Errors(dict):
    def add(self, path: str, message: str) -> None:
        self.setdefault(path, message)


def _account(team: Team, value: Any, connector: str, path: str, errors: _Errors):
    if value in (None, ""):
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        account = ConnectedAccount.objects.filter(team=team, pk=value).first()
        missing = f"no account with id {value} in this team"
    elif isinstance(value, str):
        account = ConnectedAccount.objects.filter(team=team, title=value).first()
        missing = f"no account titled {value!r} in this team"
    else:
        errors.add(path, "must be an account id or title")
        return None
    if account is None:
        errors.add(path, missing)
        return None
    if account.connector != connector:
        errors.add(path, f"{account.title!r} is a {account.connector} account, not {connector}")
        return None
    return account


def _split_config(
    operation: Operation,
    config: Any,
    path: str,
    errors: _Errors,
    *,
    partial: bool,
    has_secrets: set[str],
) -> tuple[dict, dict]:
    if config is None:
        config = {}
    if not isinstance(config, dict):
        errors.add(path, "must be an object")
        return {}, {}
    secret = field_types.secret_keys(operation.fields)
    given_secrets = {k: v for k, v in config.items() if k in secret and v not in (None, "")}
    public = {k: v for k, v in config.items() if k not in secret}
    # A secret that is stored already counts as given, though it is never sent back.
    check = {**public, **given_secrets, **{k: "stored" for k in has_secrets - set(given_secrets)}}
    clean, field_errors = operation.validate(check, resolved=False, partial=partial)
    for key, message in field_errors.items():
        errors.add(f"{path}.{key}" if key else path, message)
    public_clean = {k: v for k, v in clean.items() if k not in secret}
    return public_clean, given_secrets


class _TeamVariables:
    """The team's variable names, read the first time a reference to one is checked."""

    def __init__(self, team: Team) -> None:
        self.team = team
        self._names: set[str] | None = None

    def __contains__(self, name: str) -> bool:
        if self._names is None:
            self._names = variable_names(team_id=self.team.pk) if self.team.pk else set()
        return name in self._names


def _check_references(
    config: dict, earlier: list[str], path: str, errors: _Errors, variables: _TeamVariables
) -> None:
    for key, value in config.items():
        try:
            paths = referenced_paths(value)
        except BadReference as exc:
            errors.add(f"{path}.{key}", exc.message)
            continue
        for ref in paths:
            parts = ref.split(".")
            if parts[0] == "trigger":
                continue
            if parts[0] == "vars":
                # Documents name variables only: an automation brought to a team that
                # lacks one says which, rather than failing at its first run.
                if len(parts) > 1 and parts[1] not in variables:
                    errors.add(
                        f"{path}.{key}",
                        f"{{{{ vars.{parts[1]} }}}}: the team has no variable {parts[1]!r}; "
                        "an admin adds it on the team's page",
                    )
                continue
            if parts[0] != "steps" or len(parts) < 2:
                errors.add(
                    f"{path}.{key}", f"{{{{ {ref} }}}} must start with trigger, steps or vars"
                )
            elif parts[1] not in earlier:
                errors.add(
                    f"{path}.{key}",
                    f"{{{{ {ref} }}}} refers to step {parts[1]!r}, which does not come before "
                    "this step",
                )


def clean_definition(
    team: Team,
    data: dict[str, Any],
    *,
    existing: Automation | None = None,
    partial: bool = False,
) -> CleanDefinition:
    """Validate a definition; raise ValidationError({json path: message}) listing every
    problem."""
    errors = _Errors()
    if not isinstance(data, dict):
        raise ValidationError({"": "must be an object"})
    name = data.get("name")
    if not isinstance(name, str) or not name.strip():
        errors.add("name", "is required")
        name = ""
    elif len(name.strip()) > 100:
        errors.add("name", "must be at most 100 characters")
    description = data.get("description") or ""
    if not isinstance(description, str):
        errors.add("description", "must be text")
        description = ""
    clean = CleanDefinition(name=name.strip(), description=description)
    _clean_trigger(team, data.get("trigger"), clean, errors, existing=existing, partial=partial)
    _clean_steps(team, data.get("steps"), clean, errors, existing=existing, partial=partial)
    if errors:
        raise ValidationError({path: message for path, message in errors.items()})
    return clean


def _clean_trigger(team, trigger, clean: CleanDefinition, errors: _Errors, *, existing, partial):
    if trigger in (None, {}):
        if not partial:
            errors.add("trigger", "is required")
        return
    if not isinstance(trigger, dict):
        errors.add("trigger", "must be an object")
        return
    connector_key, trigger_key = trigger.get("connector"), trigger.get("trigger")
    try:
        connector = registry.get(str(connector_key))
        operation = connector.trigger(str(trigger_key))
    except registry.UnknownConnector:
        errors.add("trigger.connector", f"there is no connector {connector_key!r}")
        return
    except KeyError:
        names = ", ".join(t.key for t in connector.triggers) or "none"
        errors.add("trigger.trigger", f"{connector.label} has no trigger {trigger_key!r} ({names})")
        return
    clean.trigger_connector, clean.trigger_key = connector.key, operation.key
    clean.trigger_account = _account(
        team, trigger.get("account"), connector.key, "trigger.account", errors
    )
    if operation.needs_account and clean.trigger_account is None and not partial:
        errors.add("trigger.account", f"is required (a {connector.label} account)")
    same = existing is not None and existing.trigger_connector == connector.key
    stored = set(existing.get_secrets()) if same and existing.has_secrets else set()
    clean.trigger_config, secrets = _split_config(
        operation, trigger.get("config"), "trigger.config", errors,
        partial=partial, has_secrets=stored,
    )  # fmt: skip
    clean.trigger_secrets = secrets
    conditions, condition_errors = validate_conditions(trigger.get("conditions"))
    for path, message in condition_errors.items():
        errors.add(f"trigger.conditions{path}", message)
    clean.trigger_conditions = conditions


def _clean_steps(team, steps, clean: CleanDefinition, errors: _Errors, *, existing, partial):
    if steps is None:
        steps = []
    if not isinstance(steps, list):
        errors.add("steps", "must be a list")
        return
    stored = {s.key: s for s in existing.steps.all()} if existing else {}
    variables = _TeamVariables(team)
    keys: list[str] = []
    for index, step in enumerate(steps):
        path = f"steps[{index}]"
        if not isinstance(step, dict):
            errors.add(path, "must be an object")
            continue
        key = step.get("key")
        if not isinstance(key, str) or not STEP_KEY.match(key):
            errors.add(
                f"{path}.key", "must start with a letter and hold only a-z, 0-9 and _ (up to 50)"
            )
            key = f"_invalid_{index}"
        elif key in keys:
            errors.add(f"{path}.key", f"{key!r} is used by an earlier step")
        connector_key, action_key = step.get("connector"), step.get("action")
        try:
            connector = registry.get(str(connector_key))
            action = connector.action(str(action_key))
        except registry.UnknownConnector:
            errors.add(f"{path}.connector", f"there is no connector {connector_key!r}")
            keys.append(key)
            continue
        except KeyError:
            names = ", ".join(a.key for a in connector.actions) or "none"
            errors.add(
                f"{path}.action", f"{connector.label} has no action {action_key!r} ({names})"
            )
            keys.append(key)
            continue
        account = _account(team, step.get("account"), connector.key, f"{path}.account", errors)
        if action.needs_account and account is None and not partial:
            errors.add(f"{path}.account", f"is required (a {connector.label} account)")
        previous = stored.get(key)
        kept = (
            set(previous.get_secrets())
            if previous and previous.connector == connector.key and previous.has_secrets
            else set()
        )
        config, secrets = _split_config(
            action, step.get("config"), f"{path}.config", errors,
            partial=partial, has_secrets=kept,
        )  # fmt: skip
        _check_references(config, keys, f"{path}.config", errors, variables)
        attempts = step.get("max_attempts", 3)
        if not isinstance(attempts, int) or isinstance(attempts, bool) or not 1 <= attempts <= 10:
            errors.add(f"{path}.max_attempts", "must be a number between 1 and 10")
            attempts = 3
        name = step.get("name") or ""
        if not isinstance(name, str) or len(name) > 100:
            errors.add(f"{path}.name", "must be text of at most 100 characters")
            name = ""
        clean.steps.append(
            CleanStep(
                key=key,
                name=name,
                connector=connector.key,
                action=action.key,
                account=account,
                config=config,
                secrets=secrets,
                max_attempts=attempts,
            )
        )
        keys.append(key)
