"""The connector interface: what every connector package declares.

A connector knows nothing of the automations models. It gets plain data (resolved
params, credentials) and a small ``RunContext`` whose callbacks the engine fills in.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

from connectors import fields as field_types

if TYPE_CHECKING:
    from connectors.fields import Field


# The shortest timeout given to an outbound call, however little of the run is left.
MIN_TIMEOUT = 0.05


class ConnectorError(Exception):
    """The one error a connector raises: a user-facing message, and whether a retry can help.

    ``field`` names the configuration field at fault, when there is one, so forms can
    put the message beside it. ``retry_after`` carries a server's Retry-After in seconds.
    ``sent`` says the request may have reached the service before the failure (a read
    timeout, a dropped connection): a retry is then safe only for an idempotent action.
    """

    def __init__(
        self,
        message: str,
        *,
        retryable: bool = False,
        retry_after: float | None = None,
        field: str | None = None,
        sent: bool = False,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.retryable = retryable
        self.retry_after = retry_after
        self.field = field
        self.sent = sent


class TriggerRejected(Exception):
    """An inbound event that must be answered with an HTTP error and start nothing."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class EventIgnored(Exception):
    """An inbound event that is valid but not for this trigger (answered 200, no run)."""


@dataclass
class InboundEvent:
    """An HTTP request as a trigger sees it, without Django's request object."""

    method: str
    headers: dict[str, str]
    query: dict[str, Any]
    body: bytes
    content_type: str


@dataclass
class RunContext:
    """What an action may use at run time besides its params."""

    credentials: dict[str, Any] = field(default_factory=dict)
    execution_id: int | None = None
    team_id: int | None = None
    project_id: int | None = None
    step_key: str = ""
    is_test: bool = False
    deadline: float | None = None
    run_sub_automation: Callable[[str, dict[str, Any]], Any] | None = None
    list_sub_automations: Callable[[list[str]], list[dict[str, Any]]] | None = None
    store_file: Callable[[str, bytes, str], str] | None = None
    # A file the platform itself stores (generated images), read without a request:
    # (content, content type), or None for any other URL.
    read_file: Callable[[str], tuple[bytes, str] | None] | None = None
    usage: dict[str, int] = field(default_factory=dict)

    def remaining(self, cap: float) -> float:
        """Seconds an outbound call may take: the cap, or what is left of the run's time
        when that is less (never below a small floor, which a socket would read as
        "no wait at all")."""
        if self.deadline is None:
            return cap
        left = self.deadline - time.monotonic()
        if left <= 0:
            raise ConnectorError("The run's time limit was reached.", retryable=False)
        return max(MIN_TIMEOUT, min(cap, left))

    def add_usage(self, tokens: int) -> None:
        self.usage["tokens"] = self.usage.get("tokens", 0) + int(tokens or 0)


class Operation:
    """A trigger or an action: a key, a label and typed fields."""

    key: ClassVar[str]
    label: ClassVar[str]
    description: ClassVar[str] = ""
    fields: ClassVar[tuple[Field, ...]] = ()
    needs_account: ClassVar[bool] = False

    def validate(
        self,
        config: dict[str, Any] | None,
        *,
        resolved: bool,
        partial: bool = False,
        fields: tuple[Field, ...] | list[Field] | None = None,
    ) -> tuple[dict[str, Any], dict[str, str]]:
        """The one validation of a config, at save time and at run time: each field
        against its declaration, then ``check``. Returns (clean config, {key: message})."""
        clean, errors = field_types.validate(
            self.fields if fields is None else fields, config, resolved=resolved, partial=partial
        )
        for key, message in self.check(clean, resolved=resolved).items():
            errors.setdefault(key, message)
        return clean, errors

    def check(self, config: dict[str, Any], *, resolved: bool) -> dict[str, str]:
        """Rules that join fields or go beyond a field's type: {field key: message}.
        At save time (``resolved`` False) a value may still hold a reference
        (``fields.is_reference``); check what is literal, the rest is checked at run time."""
        return {}


class Action(Operation):
    # True for an action whose output answers the HTTP caller (the Response action).
    responds: ClassVar[bool] = False
    # Whether running it changes something outside the run (writes, sends, publishes).
    # A run is recorded before its first such step, so a process that dies during it
    # leaves a trace. True unless declared otherwise: the safe assumption.
    side_effects: ClassVar[bool] = True
    # Whether running it twice has the effect of running it once (a PUT, a read): only
    # then is a request that may have reached the service retried.
    idempotent: ClassVar[bool] = False
    # Flow control (the flow connector): what the engine does with the step besides
    # recording its output: "branch" (walk the list its output names), "loop" (walk
    # ``do`` once per item of its output), "delay", "stop"; "" for an ordinary action.
    control: ClassVar[str] = ""
    # The names of the nested step lists the step holds (then/else, do).
    nested: ClassVar[tuple[str, ...]] = ()
    # The field naming the sub automation(s) the action runs, when running them is its
    # only side effect (Sub Automation; Function Calling that runs what it chose): the
    # engine then counts the step free of side effects when no step of theirs has any.
    sub_automations_field: ClassVar[str] = ""

    def has_side_effects(self, params: dict[str, Any]) -> bool:
        """``side_effects``, for actions where it depends on the params (HTTP method)."""
        return self.side_effects

    def is_idempotent(self, params: dict[str, Any]) -> bool:
        return self.idempotent

    def run(self, params: dict[str, Any], context: RunContext) -> dict[str, Any]:
        raise NotImplementedError


class Trigger(Operation):
    # Where inbound events arrive: "http" (/hooks/<token>/), a connector's own hook
    # route, "sub_automation" (called by a parent) or "schedule".
    delivery: ClassVar[str] = "http"

    # Secret fields the platform fills with a random value when the user leaves them
    # blank (a shared secret the trigger registers with the service itself).
    generated_secrets: ClassVar[tuple[str, ...]] = ()

    def accept(
        self,
        event: InboundEvent,
        config: dict[str, Any],
        secrets: dict[str, Any],
        credentials: dict[str, Any],
    ) -> dict[str, Any]:
        """Turn an inbound event into the trigger's output, or raise TriggerRejected /
        EventIgnored. ``credentials`` are the trigger account's, if it has one."""
        raise NotImplementedError

    def interval_minutes(self, config: dict[str, Any]) -> int | None:
        """For delivery "schedule": minutes between runs."""
        return None

    def delivery_key(self, output: dict[str, Any]) -> str | None:
        """For services that deliver again: a key that is the same for every copy of one
        event, so that it starts one execution only."""
        return None

    def accept_payload(self, payload: Any, config: dict[str, Any]) -> Any:
        """An event given as data (the API's run endpoint, a parent automation's call):
        validate it and return the trigger output. Raise ConnectorError when it is bad."""
        return payload

    def sample(self, config: dict[str, Any], context: RunContext) -> dict[str, Any] | None:
        """Test Trigger: a realistic output fetched from the service, when it can."""
        return None

    def activate(self, setup: TriggerSetup) -> dict[str, Any]:
        """Called when the automation is switched on: register with the service where
        that is possible. Returns state kept for ``deactivate`` (a webhook uid, say)."""
        return {}

    def deactivate(self, setup: TriggerSetup, state: dict[str, Any]) -> None:
        """Undo ``activate``."""


@dataclass
class TriggerSetup:
    """What a trigger needs to register itself with a service."""

    config: dict[str, Any]
    secrets: dict[str, Any]
    credentials: dict[str, Any]
    hook_url: str | None
    automation_name: str


class Connector:
    key: ClassVar[str]
    label: ClassVar[str]
    description: ClassVar[str] = ""
    account_fields: ClassVar[tuple[Field, ...]] = ()
    triggers: ClassVar[tuple[type[Trigger], ...]] = ()
    actions: ClassVar[tuple[type[Action], ...]] = ()

    def check_account(self, credentials: dict[str, Any]) -> None:
        """Raise ConnectorError (with ``field``) when the credentials do not work."""

    def lookup(
        self, name: str, credentials: dict[str, Any], params: dict[str, Any]
    ) -> list[dict[str, str]]:
        """Choices for a lookup field, fetched live: [{"value": ..., "label": ...}]."""
        raise ConnectorError(f"Unknown lookup {name!r}.")

    def trigger(self, key: str) -> Trigger:
        for trigger_class in self.triggers:
            if trigger_class.key == key:
                return trigger_class()
        raise KeyError(key)

    def action(self, key: str) -> Action:
        for action_class in self.actions:
            if action_class.key == key:
                return action_class()
        raise KeyError(key)
