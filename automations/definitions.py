"""An automation as plain data (name, trigger, steps), validated in one place.

The API, the import of automation documents and the wizard all hand a definition to
``clean_definition``; every problem is reported with its JSON path
(``steps[2].config.status: must be a number between 100 and 599``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError

from accounts.models import ConnectedAccount, Team
from accounts.selectors import variable_names
from automations.engine.conditions import validate_conditions
from automations.engine.references import BadReference, referenced_paths
from automations.models import Automation, Project
from connectors import fields as field_types
from connectors import registry
from connectors.base import Operation
from connectors.flow.connector import delay_seconds

STEP_KEY = re.compile(r"^[a-z][a-z0-9_]{0,49}$")
# The names a step may hold nested steps under, and how deep they may go.
NESTED_LISTS = ("then", "else", "do")
MAX_DEPTH = 5


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
    # Nested lists by name (then/else of a branch, do of a loop) and the holder's kind.
    nested: dict[str, list[CleanStep]] = field(default_factory=dict)
    nested_kind: str = ""


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
    config: dict,
    earlier: list[str],
    path: str,
    errors: _Errors,
    *,
    variables: _TeamVariables,
    in_loop: bool = False,
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
            if parts[0] == "loop":
                if not in_loop:
                    errors.add(
                        f"{path}.{key}",
                        f"{{{{ {ref} }}}} is available only inside a for_each's steps",
                    )
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
    project: Project | None = None,
) -> CleanDefinition:
    """Validate a definition; raise ValidationError({json path: message}) listing every
    problem. With a ``project`` (or an ``existing`` automation) the sub automations the
    steps name must exist in it."""
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
    project = project or (existing.project if existing else None)
    if project is not None:
        _check_sub_automations(project, clean, errors)
    if errors:
        raise ValidationError({path: message for path, message in errors.items()})
    return clean


def sub_automation_names_used(steps: list[CleanStep] | list[Any]) -> list[str]:
    """The sub automations a definition's steps name literally (a reference chooses at
    run time, among the names listed elsewhere)."""
    names: list[str] = []
    for step in steps:
        config = step.config if isinstance(step, CleanStep) else (step.get("config") or {})
        for value in config.get("sub_automations") or []:
            if isinstance(value, str) and not field_types.is_reference(value):
                names.append(value)
        single = config.get("sub_automation")
        if isinstance(single, str) and single and not field_types.is_reference(single):
            names.append(single)
    return list(dict.fromkeys(names))


def _check_sub_automations(project: Project, clean: CleanDefinition, errors: _Errors) -> None:
    known = set(
        Automation.objects.filter(
            project=project, trigger_connector="sub_automation", trigger_key="called"
        ).values_list("name", flat=True)
    )
    if (clean.trigger_connector, clean.trigger_key) == ("sub_automation", "called"):
        known.add(clean.name)  # calling itself is stopped at run time, as a cycle
    for index, step in enumerate(clean.steps):
        for key in ("sub_automations", "sub_automation"):
            value = step.config.get(key)
            names = value if isinstance(value, list) else [value]
            literal = [n for n in names if isinstance(n, str) and not field_types.is_reference(n)]
            missing = [n for n in literal if n and n not in known]
            if missing:
                listed = ", ".join(repr(n) for n in missing)
                errors.add(
                    f"steps[{index}].config.{key}",
                    f"names {listed}, which is not a sub automation of this project",
                )


def _clean_trigger(team, trigger, clean: CleanDefinition, errors: _Errors, *, existing, partial):
    if trigger in (None, {}) or (isinstance(trigger, dict) and not trigger.get("connector")):
        # A draft may get its steps before its trigger.
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


@dataclass
class _Walk:
    """What cleaning a list of steps needs from around it."""

    team: Team
    stored: dict[str, Any]
    partial: bool
    keys: list[str] = field(default_factory=list)  # every key so far, the whole tree
    # Cumulative literal delays in walk order (for automations that answer inline).
    delays: list[tuple[str, float]] = field(default_factory=list)
    responds: bool = False
    variables: _TeamVariables | None = None


def _clean_steps(team, steps, clean: CleanDefinition, errors: _Errors, *, existing, partial):
    stored = {s.key: s for s in existing.steps.all()} if existing else {}
    walk = _Walk(team=team, stored=stored, partial=partial, variables=_TeamVariables(team))
    clean.steps = _clean_list(steps, "steps", walk, errors, visible=[], in_loop=False, depth=0)
    if walk.responds:
        _check_inline_delays(walk, errors)


def _check_inline_delays(walk: _Walk, errors: _Errors) -> None:
    """A run that answers its caller waits in place, within SYNC_RESPONSE_TIMEOUT: a
    delay it cannot sit out is refused now rather than timing out every run."""
    limit = settings.SYNC_RESPONSE_TIMEOUT
    waited = 0.0
    for path, seconds in walk.delays:
        waited += seconds
        if waited >= limit:
            errors.add(
                f"{path}.seconds",
                f"an automation with a Response step answers within {limit:g} s; with this "
                f"delay it would wait {waited:g} s before answering",
            )
            return


def _clean_list(
    steps: Any, path: str, walk: _Walk, errors: _Errors, *, visible: list[str],
    in_loop: bool, depth: int,
) -> list[CleanStep]:  # fmt: skip
    """Clean one list of steps (the top level, or a branch or loop body inside it).
    ``visible`` are the keys a reference here may name: steps that run before, except
    those inside a loop body this list is not part of."""
    if steps is None:
        steps = []
    if not isinstance(steps, list):
        errors.add(path, "must be a list")
        return []
    if depth > MAX_DEPTH:
        errors.add(path, f"steps may be nested at most {MAX_DEPTH} levels deep")
        return []
    visible = list(visible)
    cleaned = []
    for index, step in enumerate(steps):
        item = _clean_step(step, f"{path}[{index}]", index, walk, errors, visible, in_loop, depth)
        if item is None:
            continue
        cleaned.append(item)
        visible.append(item.key)
        if item.nested and item.nested_kind == "branch":
            # After a branch, its steps may be named (one of the two did not run: a
            # reference to it is then an error unless it has a default).
            visible.extend(k for k in _keys_outside_loops(item) if k != item.key)
    return cleaned


def _keys_outside_loops(step: CleanStep) -> list[str]:
    found = [step.key]
    if step.nested_kind == "branch":
        for items in step.nested.values():
            for child in items:
                found.extend(_keys_outside_loops(child))
    return found


def _clean_step(
    step: Any, path: str, index: int, walk: _Walk, errors: _Errors, visible: list[str],
    in_loop: bool, depth: int,
) -> CleanStep | None:  # fmt: skip
    if not isinstance(step, dict):
        errors.add(path, "must be an object")
        return None
    key = step.get("key")
    if not isinstance(key, str) or not STEP_KEY.match(key):
        errors.add(
            f"{path}.key", "must start with a letter and hold only a-z, 0-9 and _ (up to 50)"
        )
        key = f"_invalid_{len(walk.keys)}"
    elif key in walk.keys:
        errors.add(f"{path}.key", f"{key!r} is used by an earlier step")
    walk.keys.append(key)
    connector_key, action_key = step.get("connector"), step.get("action")
    try:
        connector = registry.get(str(connector_key))
        action = connector.action(str(action_key))
    except registry.UnknownConnector:
        errors.add(f"{path}.connector", f"there is no connector {connector_key!r}")
        return None
    except KeyError:
        names = ", ".join(a.key for a in connector.actions) or "none"
        errors.add(f"{path}.action", f"{connector.label} has no action {action_key!r} ({names})")
        return None
    walk.responds = walk.responds or action.responds
    account = _account(walk.team, step.get("account"), connector.key, f"{path}.account", errors)
    if action.needs_account and account is None and not walk.partial:
        errors.add(f"{path}.account", f"is required (a {connector.label} account)")
    previous = walk.stored.get(key)
    kept = (
        set(previous.get_secrets())
        if previous and previous.connector == connector.key and previous.has_secrets
        else set()
    )
    config, secrets = _split_config(
        action, step.get("config"), f"{path}.config", errors,
        partial=walk.partial, has_secrets=kept,
    )  # fmt: skip
    _check_references(
        config, visible, f"{path}.config", errors, variables=walk.variables, in_loop=in_loop
    )
    if action.control == "branch":
        _check_branch_conditions(config, visible, f"{path}.config", errors, in_loop=in_loop)
    if action.control == "delay":
        seconds = delay_seconds(config)
        if seconds is not None:
            walk.delays.append((f"{path}.config", seconds))
    attempts = step.get("max_attempts", 3)
    if not isinstance(attempts, int) or isinstance(attempts, bool) or not 1 <= attempts <= 10:
        errors.add(f"{path}.max_attempts", "must be a number between 1 and 10")
        attempts = 3
    name = step.get("name") or ""
    if not isinstance(name, str) or len(name) > 100:
        errors.add(f"{path}.name", "must be text of at most 100 characters")
        name = ""
    nested: dict[str, list[CleanStep]] = {}
    for branch in NESTED_LISTS:
        if branch not in step:
            continue
        if branch not in action.nested:
            holders = "flow.if holds then and else" if branch != "do" else "flow.for_each holds do"
            errors.add(
                f"{path}.{branch}", f"{connector.key}.{action.key} holds no steps ({holders})"
            )
            continue
        nested[branch] = _clean_list(
            step[branch], f"{path}.{branch}", walk, errors, visible=visible,
            in_loop=in_loop or action.control == "loop", depth=depth + 1,
        )  # fmt: skip
    for branch in action.nested:
        nested.setdefault(branch, [])
    return CleanStep(
        key=key, name=name, connector=connector.key, action=action.key, account=account,
        config=config, secrets=secrets, max_attempts=attempts, nested=nested,
        nested_kind=action.control if action.nested else "",
    )  # fmt: skip


def _check_branch_conditions(
    config: dict, visible: list[str], path: str, errors: _Errors, *, in_loop: bool
) -> None:
    """A branch's conditions: the trigger's operators, with paths into the trigger, an
    earlier step or (in a loop) the item."""
    rows, row_errors = validate_conditions(config.get("conditions"))
    for where, message in row_errors.items():
        errors.add(f"{path}.conditions{where}", message)
    for index, row in enumerate(rows):
        parts = str(row.get("path") or "").strip().split(".")
        where = f"{path}.conditions[{index}].path"
        if f"{path}.conditions[{index}].path" in errors:
            continue
        if parts[0] == "steps" and len(parts) > 1:
            if parts[1] not in visible:
                errors.add(
                    where, f"refers to step {parts[1]!r}, which does not come before this step"
                )
        elif parts[0] == "loop":
            if not in_loop:
                errors.add(where, "loop.… is available only inside a for_each's steps")
        elif parts[0] != "trigger" or len(parts) < 2:
            errors.add(where, "must start with trigger., steps.<key>. or loop.")
    config["conditions"] = rows


_STEP_PATH = re.compile(r"^steps\[(\d+)\]((?:\.(?:then|else|do)\[\d+\])*)(?:\.(\w+))?(?:\.(\w+))?")
_NESTED_PART = re.compile(r"\.(then|else|do)\[(\d+)\]")
_PART_LABELS = {"account": "Account", "key": "Key", "name": "Name", "max_attempts": "Attempts"}


def _operation_or_none(connector_key: Any, operation_key: Any, kind: str) -> Operation | None:
    try:
        return getattr(registry.get(str(connector_key)), kind)(str(operation_key))
    except (registry.UnknownConnector, KeyError):
        return None


def _field_label(operation: Operation | None, key: str) -> str:
    for f in operation.fields if operation else ():
        if f.key == key:
            return f.label
    return key.replace("_", " ").capitalize()


def _nth_step(steps: Any, index: int) -> dict[str, Any]:
    if isinstance(steps, list) and index < len(steps) and isinstance(steps[index], dict):
        return steps[index]
    return {}


def describe_error(path: str, message: str, data: dict[str, Any]) -> str:
    """One validation error in the user's words: ``steps[1].account: is required``
    becomes "Step 2 (Function Calling) - Account is required"."""
    if path in ("trigger", "trigger.connector") and not (data.get("trigger") or {}).get(
        "connector"
    ):
        return "Add a trigger first."
    match = _STEP_PATH.match(path)
    if match:
        index, nested = int(match.group(1)), match.group(2)
        part, key = match.group(3), match.group(4)
        step = _nth_step(data.get("steps"), index)
        title = f"Step {index + 1}"
        # A nested step: "Step 2 › then 1", named after the innermost step.
        for name, number in _NESTED_PART.findall(nested):
            step = _nth_step(step.get(name), int(number))
            title += f" › {name} {int(number) + 1}"
        title += f" ({step['name']})" if step.get("name") else ""
        if part == "connector" and not step.get("connector"):
            return f"{title} - Choose a connector."
        if part == "config" and key:
            operation = _operation_or_none(step.get("connector"), step.get("action"), "action")
            return f"{title} - {_field_label(operation, key)} {message}"
        label = _PART_LABELS.get(part or "", "")
        return f"{title} - {label} {message}" if label else f"{title} - {message}"
    if path.startswith("trigger"):
        parts = path.split(".")
        trigger = data.get("trigger") or {}
        if len(parts) > 2 and parts[1] == "config":
            operation = _operation_or_none(
                trigger.get("connector"), trigger.get("trigger"), "trigger"
            )
            return f"Trigger - {_field_label(operation, parts[2])} {message}"
        if len(parts) > 1 and parts[1] in _PART_LABELS:
            return f"Trigger - {_PART_LABELS[parts[1]]} {message}"
        return f"Trigger - {message}"
    if path in ("", "__all__"):
        return message
    return f"{path.replace('_', ' ').capitalize()} {message}"


def describe_errors(errors: dict[str, list[str]], data: dict[str, Any]) -> list[str]:
    return [describe_error(path, m, data) for path, messages in errors.items() for m in messages]
