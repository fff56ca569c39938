"""Explicit input and output shapes of the API. Secrets are write-only everywhere."""

from __future__ import annotations

from rest_framework import serializers

from accounts.models import ConnectedAccount, Team, TeamVariable
from automations import selectors
from automations.engine.paths import branch_of, parse_path, run_order
from automations.engine.runner import step_tree
from automations.models import Automation, Execution, Project, Step, StepRun


class TeamOut(serializers.ModelSerializer):
    role = serializers.SerializerMethodField()

    class Meta:
        model = Team
        fields = ["id", "name", "slug", "is_personal", "role", "created_at"]

    def get_role(self, team: Team) -> str | None:
        roles = self.context.get("roles", {})
        return roles.get(team.pk)


class TeamIn(serializers.Serializer):
    name = serializers.CharField(max_length=100)


class AccountOut(serializers.ModelSerializer):
    class Meta:
        model = ConnectedAccount
        fields = ["id", "connector", "title", "config", "hint", "created_at", "updated_at"]


class AccountIn(serializers.Serializer):
    connector = serializers.CharField(max_length=50)
    title = serializers.CharField(max_length=100)
    credentials = serializers.DictField(write_only=True)


class AccountUpdateIn(serializers.Serializer):
    title = serializers.CharField(max_length=100, required=False)
    credentials = serializers.DictField(write_only=True, required=False)


class VariableOut(serializers.ModelSerializer):
    secret = serializers.BooleanField(source="is_secret", read_only=True)
    value = serializers.SerializerMethodField(
        help_text="The value of a plain variable; null for a secret one, which is never shown."
    )
    reference = serializers.SerializerMethodField()

    class Meta:
        model = TeamVariable
        fields = ["id", "name", "secret", "value", "hint", "reference", "created_at", "updated_at"]

    def get_value(self, variable: TeamVariable) -> str | None:
        return None if variable.is_secret else variable.value

    def get_reference(self, variable: TeamVariable) -> str:
        return f"{{{{ vars.{variable.name} }}}}"


class VariableIn(serializers.Serializer):
    name = serializers.CharField(max_length=64)
    value = serializers.CharField(allow_blank=True, write_only=True, trim_whitespace=False)
    secret = serializers.BooleanField(default=False)


class VariableUpdateIn(serializers.Serializer):
    name = serializers.CharField(max_length=64, required=False)
    value = serializers.CharField(
        allow_blank=True,
        write_only=True,
        required=False,
        trim_whitespace=False,
        help_text="A secret's value left out or blank keeps the stored one.",
    )
    secret = serializers.BooleanField(required=False)


class ProjectOut(serializers.ModelSerializer):
    class Meta:
        model = Project
        fields = ["id", "name", "description", "created_at"]


class ProjectIn(serializers.Serializer):
    name = serializers.CharField(max_length=100)
    description = serializers.CharField(required=False, allow_blank=True, default="")


class AutomationOut(serializers.ModelSerializer):
    webhook_url = serializers.SerializerMethodField()
    trigger = serializers.SerializerMethodField()
    steps = serializers.SerializerMethodField()
    on_failure = serializers.SerializerMethodField()

    class Meta:
        model = Automation
        fields = [
            "id", "project", "name", "description", "active", "webhook_url", "trigger", "steps",
            "on_failure", "created_at", "updated_at",
        ]  # fmt: skip

    def get_on_failure(self, automation: Automation) -> OnFailure:
        return selectors.on_failure_settings(automation)

    def get_webhook_url(self, automation: Automation) -> str | None:
        return selectors.webhook_url_for(
            automation, role=self.context.get("role"), request=self.context.get("request")
        )

    def get_trigger(self, automation: Automation) -> dict:
        return {
            "connector": automation.trigger_connector,
            "trigger": automation.trigger_key,
            "account": automation.trigger_account_id,
            "config": automation.trigger_config,
            "conditions": automation.trigger_conditions,
            "secrets_set": automation.has_secrets,
            "sample": automation.trigger_sample,
            "state": automation.trigger_state,
            # Why the last registration with the service failed ("" when it did not).
            "error": automation.trigger_error,
        }

    def get_steps(self, automation: Automation) -> list[dict]:
        """The step tree: a branch's steps under then/else, a loop's under do."""

        def describe(step: Step) -> dict:
            return {
                "key": step.key, "name": step.name, "connector": step.connector,
                "action": step.action, "account": step.account_id, "config": step.config,
                "max_attempts": step.max_attempts, "secrets_set": step.has_secrets,
                "sample_output": step.sample_output,
                **{name: [describe(c) for c in children] for name, children in step.nested.items()},
            }  # fmt: skip

        return [describe(step) for step in step_tree(list(automation.steps.all()))]


class OnFailure(serializers.Serializer):
    email = serializers.BooleanField(
        required=False,
        help_text="E-mail when a run fails or times out (at most once per "
        "FAILURE_ALERT_MINUTES per automation; the next e-mail counts the rest).",
    )
    recipients = serializers.ListField(
        child=serializers.IntegerField(),
        required=False,
        help_text="User ids of members to e-mail; empty: the team's owners and admins.",
    )
    automation = serializers.IntegerField(
        required=False,
        allow_null=True,
        help_text="A sub automation of the same project, run with {execution_id, automation, "
        "step, error, url} as its input; null for none.",
    )


class AutomationIn(serializers.Serializer):
    project = serializers.IntegerField()
    name = serializers.CharField(max_length=100)
    description = serializers.CharField(required=False, allow_blank=True, default="")
    trigger = serializers.JSONField(required=False)
    steps = serializers.JSONField(required=False)
    on_failure = OnFailure(required=False)


class AutomationUpdateIn(serializers.Serializer):
    name = serializers.CharField(max_length=100, required=False)
    description = serializers.CharField(required=False, allow_blank=True)
    trigger = serializers.JSONField(required=False)
    steps = serializers.JSONField(required=False)
    on_failure = OnFailure(required=False)


class ImportIn(serializers.Serializer):
    project = serializers.IntegerField()
    document = serializers.JSONField()
    name = serializers.CharField(max_length=100, required=False)


class RunIn(serializers.Serializer):
    payload = serializers.JSONField(required=False, default=dict)
    wait = serializers.BooleanField(required=False, default=False)


class StepRunOut(serializers.ModelSerializer):
    # The branch the run is in (then/else), "" outside any branch.
    branch = serializers.SerializerMethodField()

    def get_branch(self, run: StepRun) -> str:
        return branch_of(parse_path(run.path))

    class Meta:
        model = StepRun
        fields = [
            "position", "path", "iteration", "branch", "step_key", "connector", "action",
            "status", "input", "output",
            "output_truncated", "error", "attempts", "reused", "tokens_used", "started_at",
            "finished_at", "duration_ms",
        ]  # fmt: skip


class ExecutionOut(serializers.ModelSerializer):
    automation_name = serializers.CharField(source="automation.name", read_only=True)

    class Meta:
        model = Execution
        fields = [
            "id", "automation", "automation_name", "status", "is_test", "parent", "depth",
            "retry_of", "error", "tokens_used", "created_at", "started_at", "finished_at",
            "duration_ms",
        ]  # fmt: skip


# GET /executions/ renders its rows from ``.values()`` as ExecutionOut renders executions
# (tests/speed/test_execution_rows.py holds the two equal): a model instance and fourteen
# serializer fields for each of fifty rows were half the time of the endpoint.
EXECUTION_ROW = {  # ExecutionOut's field: the lookup of its value
    "id": "id", "automation": "automation_id", "automation_name": "automation__name",
    "status": "status", "is_test": "is_test", "parent": "parent_id", "depth": "depth",
    "retry_of": "retry_of_id", "error": "error", "tokens_used": "tokens_used",
    "created_at": "created_at", "started_at": "started_at", "finished_at": "finished_at",
    "duration_ms": "duration_ms",
}  # fmt: skip
_TIME = serializers.DateTimeField()


def execution_row(row: dict) -> dict:
    out = {name: row[lookup] for name, lookup in EXECUTION_ROW.items()}
    for name in ("created_at", "started_at", "finished_at"):
        out[name] = _TIME.to_representation(out[name])
    return out


class ExecutionDetailOut(ExecutionOut):
    # In the order of the automation's tree: a branch or loop before the runs inside it.
    step_runs = serializers.SerializerMethodField()
    children = serializers.PrimaryKeyRelatedField(many=True, read_only=True)

    def get_step_runs(self, execution: Execution) -> list[dict]:
        runs = sorted(execution.step_runs.all(), key=lambda run: run_order(run.path))
        return StepRunOut(runs, many=True).data

    class Meta(ExecutionOut.Meta):
        fields = [
            *ExecutionOut.Meta.fields, "trigger_output", "response", "resume_path", "step_runs",
            "children",
        ]  # fmt: skip


class BlueprintOut(serializers.Serializer):
    key = serializers.CharField()
    title = serializers.CharField()
    description = serializers.CharField()
    automations = serializers.ListField(child=serializers.CharField())


class BlueprintUseIn(serializers.Serializer):
    project = serializers.IntegerField()
    accounts = serializers.DictField(child=serializers.IntegerField(), required=False)
