"""Schedule: run an automation every so many minutes, hours, days or weeks."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from connectors import fields as f
from connectors.base import Connector, InboundEvent, RunContext, Trigger, TriggerRejected

MINUTES = {"minutes": 1, "hours": 60, "days": 60 * 24, "weeks": 60 * 24 * 7}


def interval_minutes(config: dict[str, Any]) -> int:
    return int(config.get("every") or 1) * MINUTES[config.get("unit") or "hours"]


class EveryTrigger(Trigger):
    key = "every"
    label = "Schedule"
    description = "Runs at a fixed interval once the automation is active."
    delivery = "schedule"
    fields = (
        f.Field("every", "Every", type=f.INTEGER, default=1, minimum=1, maximum=1000),
        f.Field(
            "unit", "Unit", type=f.CHOICE, default="hours",
            choices=tuple((unit, unit.capitalize()) for unit in MINUTES),
        ),
    )  # fmt: skip

    def interval_minutes(self, config: dict[str, Any]) -> int:
        return interval_minutes(config)

    def accept(
        self, event: InboundEvent, config: dict, secrets: dict, credentials: dict
    ) -> dict[str, Any]:
        raise TriggerRejected(404, "A scheduled automation is started by its schedule.")

    def accept_payload(self, payload: Any, config: dict[str, Any]) -> Any:
        if isinstance(payload, dict) and payload.get("scheduled_at"):
            return payload
        return self.sample(config, RunContext())

    def sample(self, config: dict[str, Any], context: RunContext) -> dict[str, Any]:
        return {
            "scheduled_at": datetime.now(UTC).isoformat(),
            "interval_minutes": interval_minutes(config),
        }


class ScheduleConnector(Connector):
    key = "schedule"
    label = "Schedule"
    description = "Run automations on a timer."
    triggers = (EveryTrigger,)
