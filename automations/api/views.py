"""The REST API: small views per operation, each acting in the request's team."""

from __future__ import annotations

from django.db import transaction
from django.utils.dateparse import parse_datetime
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.exceptions import ValidationError
from rest_framework.generics import get_object_or_404
from rest_framework.pagination import CursorPagination, PageNumberPagination
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts import roles
from accounts import selectors as account_selectors
from accounts import services as account_services
from accounts import variables as team_variables
from accounts.models import Membership
from automations import selectors, services
from automations.api import serializers as s
from automations.api.teams import TeamAPIView
from automations.models import Status
from connectors import registry
from connectors.base import ConnectorError
from connectors.catalog import catalog


class ConnectorCatalog(APIView):
    @extend_schema(
        responses={200: dict}, summary="Connectors, their account fields, triggers and actions"
    )
    def get(self, request):
        return Response(catalog())


class TeamList(APIView):
    @extend_schema(responses=s.TeamOut(many=True))
    def get(self, request):
        teams = account_selectors.team_list_for_user(user=request.user)
        roles = dict(Membership.objects.filter(user=request.user).values_list("team_id", "role"))
        return Response(s.TeamOut(teams, many=True, context={"roles": roles}).data)

    @extend_schema(request=s.TeamIn, responses={201: s.TeamOut})
    def post(self, request):
        data = _valid(s.TeamIn, request)
        team = account_services.team_create(name=data["name"], owner=request.user)
        return Response(
            s.TeamOut(team, context={"roles": {team.pk: "owner"}}).data,
            status=status.HTTP_201_CREATED,
        )


class AccountList(TeamAPIView):
    write_action = roles.Action.MANAGE_ACCOUNTS

    @extend_schema(responses=s.AccountOut(many=True))
    def get(self, request):
        accounts = account_selectors.account_list(
            team=self.team, connector=request.query_params.get("connector")
        )
        return Response(s.AccountOut(accounts, many=True).data)

    @extend_schema(request=s.AccountIn, responses={201: s.AccountOut})
    def post(self, request):
        data = _valid(s.AccountIn, request)
        account = account_services.account_create(
            team=self.team, connector=data["connector"], title=data["title"],
            credentials=data["credentials"], created_by=request.user,
        )  # fmt: skip
        return Response(s.AccountOut(account).data, status=status.HTTP_201_CREATED)


class AccountDetail(TeamAPIView):
    write_action = roles.Action.MANAGE_ACCOUNTS

    @extend_schema(responses=s.AccountOut)
    def get(self, request, pk: int):
        return Response(s.AccountOut(account_selectors.account_get(team=self.team, pk=pk)).data)

    @extend_schema(request=s.AccountUpdateIn, responses=s.AccountOut)
    def patch(self, request, pk: int):
        account = account_selectors.account_get(team=self.team, pk=pk)
        data = _valid(s.AccountUpdateIn, request)
        account = account_services.account_update(
            account=account,
            title=data.get("title"),
            credentials=data.get("credentials"),
            actor=request.user,
        )
        return Response(s.AccountOut(account).data)

    @extend_schema(responses={204: None})
    def delete(self, request, pk: int):
        account_services.account_delete(
            account=account_selectors.account_get(team=self.team, pk=pk), actor=request.user
        )
        return Response(status=status.HTTP_204_NO_CONTENT)


class AccountLookup(TeamAPIView):
    """Choices for a lookup field (models, branches, content types...), fetched live
    with the account; query parameters narrow them (branch, content_type, q)."""

    read_action = roles.Action.USE_ACCOUNTS

    @extend_schema(responses={200: dict}, summary="Live choices for a lookup field")
    def get(self, request, pk: int, name: str):
        account = account_selectors.account_get(team=self.team, pk=pk)
        params = {key: value for key, value in request.query_params.items()}
        try:
            choices = registry.get(account.connector).lookup(name, account.credentials(), params)
        except ConnectorError as exc:
            raise ValidationError({exc.field or "lookup": [exc.message]}) from None
        return Response(choices)


class VariableList(TeamAPIView):
    """The team's variables. Every member reads names and plain values; a secret's value
    is never returned, to anyone. Admins create them."""

    write_action = roles.Action.MANAGE_VARIABLES

    @extend_schema(responses=s.VariableOut(many=True), summary="The team's variables")
    def get(self, request):
        variables = account_selectors.variable_list(team=self.team)
        return Response(s.VariableOut(variables, many=True).data)

    @extend_schema(request=s.VariableIn, responses={201: s.VariableOut}, summary="Add a variable")
    def post(self, request):
        data = _valid(s.VariableIn, request)
        variable = team_variables.variable_create(
            actor=request.user,
            team=self.team,
            name=data["name"],
            value=data["value"],
            secret=data["secret"],
        )
        return Response(s.VariableOut(variable).data, status=status.HTTP_201_CREATED)


class VariableDetail(TeamAPIView):
    write_action = roles.Action.MANAGE_VARIABLES

    @extend_schema(responses=s.VariableOut)
    def get(self, request, pk: int):
        variable = account_selectors.variable_get(team=self.team, pk=pk)
        return Response(s.VariableOut(variable).data)

    @extend_schema(request=s.VariableUpdateIn, responses=s.VariableOut)
    def patch(self, request, pk: int):
        variable = account_selectors.variable_get(team=self.team, pk=pk)
        data = _valid(s.VariableUpdateIn, request)
        variable = team_variables.variable_update(
            actor=request.user,
            variable=variable,
            name=data.get("name"),
            value=data.get("value"),
            secret=data.get("secret"),
        )
        return Response(s.VariableOut(variable).data)

    @extend_schema(responses={204: None})
    def delete(self, request, pk: int):
        variable = account_selectors.variable_get(team=self.team, pk=pk)
        team_variables.variable_delete(actor=request.user, variable=variable)
        return Response(status=status.HTTP_204_NO_CONTENT)


class ProjectList(TeamAPIView):
    @extend_schema(responses=s.ProjectOut(many=True))
    def get(self, request):
        return Response(s.ProjectOut(selectors.project_list(team=self.team), many=True).data)

    @extend_schema(request=s.ProjectIn, responses={201: s.ProjectOut})
    def post(self, request):
        data = _valid(s.ProjectIn, request)
        project = services.project_create(team=self.team, **data)
        return Response(s.ProjectOut(project).data, status=status.HTTP_201_CREATED)


class ProjectDetail(TeamAPIView):
    @extend_schema(responses=s.ProjectOut)
    def get(self, request, pk: int):
        return Response(s.ProjectOut(selectors.project_get(team=self.team, pk=pk)).data)


class AutomationList(TeamAPIView):
    @extend_schema(
        parameters=[OpenApiParameter("project", int, required=False)],
        responses=s.AutomationOut(many=True),
    )
    def get(self, request):
        automations = selectors.automation_list(
            team=self.team, project_id=_int_param(request, "project")
        ).prefetch_related("steps")
        paginator = PageNumberPagination()
        page = paginator.paginate_queryset(automations, request, view=self)
        context = {"request": request, "role": self.membership.role}
        data = s.AutomationOut(page, many=True, context=context).data
        return paginator.get_paginated_response(data)

    @extend_schema(request=s.AutomationIn, responses={201: s.AutomationOut})
    def post(self, request):
        data = _valid(s.AutomationIn, request)
        project = selectors.project_get(team=self.team, pk=data.pop("project"))
        on_failure = data.pop("on_failure", None)
        with transaction.atomic():
            automation = services.automation_create(
                project=project, data=data, created_by=request.user
            )
            if on_failure:
                services.automation_on_failure_set(
                    automation=automation, data=on_failure, actor=request.user
                )
        return _automation(automation, request, status.HTTP_201_CREATED)


class AutomationDetail(TeamAPIView):
    @extend_schema(responses=s.AutomationOut)
    def get(self, request, pk: int):
        return _automation(selectors.automation_get(team=self.team, pk=pk), request)

    @extend_schema(request=s.AutomationUpdateIn, responses=s.AutomationOut)
    def put(self, request, pk: int):
        automation = selectors.automation_get(team=self.team, pk=pk)
        data = _valid(s.AutomationUpdateIn, request)
        on_failure = data.pop("on_failure", None)
        if on_failure:
            # Its own change, made first: the definition's may call an outside service.
            automation = services.automation_on_failure_set(
                automation=automation, data=on_failure, actor=request.user
            )
        if data or not on_failure:
            automation = services.automation_update(
                automation=automation, data=data, actor=request.user
            )
        return _automation(automation, request)

    patch = put

    @extend_schema(responses={204: None})
    def delete(self, request, pk: int):
        automation = selectors.automation_get(team=self.team, pk=pk)
        services.automation_delete(automation=automation, actor=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


class AutomationImport(TeamAPIView):
    @extend_schema(request=s.ImportIn, responses={201: s.AutomationOut})
    def post(self, request):
        data = _valid(s.ImportIn, request)
        project = selectors.project_get(team=self.team, pk=data["project"])
        automation = services.automation_import(
            project=project, document=data["document"], created_by=request.user,
            name=data.get("name"),
        )  # fmt: skip
        return _automation(automation, request, status.HTTP_201_CREATED)


class AutomationExport(TeamAPIView):
    @extend_schema(responses={200: dict})
    def get(self, request, pk: int):
        automation = selectors.automation_get(team=self.team, pk=pk)
        return Response(services.automation_export(automation=automation))


class AutomationActivate(TeamAPIView):
    @extend_schema(request=None, responses=s.AutomationOut)
    def post(self, request, pk: int):
        automation = selectors.automation_get(team=self.team, pk=pk)
        automation = services.automation_activate(automation=automation, actor=request.user)
        return _automation(automation, request)


class AutomationDeactivate(TeamAPIView):
    @extend_schema(request=None, responses=s.AutomationOut)
    def post(self, request, pk: int):
        automation = selectors.automation_get(team=self.team, pk=pk)
        automation = services.automation_deactivate(automation=automation, actor=request.user)
        return _automation(automation, request)


class AutomationRun(TeamAPIView):
    write_action = roles.Action.RUN

    @extend_schema(
        request=s.RunIn,
        responses={202: s.ExecutionOut, 200: s.ExecutionDetailOut, 504: dict},
        description="With `wait`, the run happens now, within SYNC_RESPONSE_TIMEOUT: past "
        "it the run stops, is marked timed out, and the answer is 504 with `execution_id`.",
    )
    def post(self, request, pk: int):
        automation = selectors.automation_get(team=self.team, pk=pk)
        data = _valid(s.RunIn, request)
        execution = services.automation_run(
            automation=automation, payload=data["payload"], wait=data["wait"], actor=request.user
        )
        if data["wait"]:
            if execution.status == Status.TIMED_OUT:
                # As a webhook answers at the limit: the run stopped; its log says why.
                body = {"error": execution.error, "execution_id": execution.pk}
                return Response(body, status=status.HTTP_504_GATEWAY_TIMEOUT)
            execution = selectors.execution_get(team=self.team, pk=execution.pk)
            return Response(s.ExecutionDetailOut(execution).data)
        return Response(s.ExecutionOut(execution).data, status=status.HTTP_202_ACCEPTED)


class AutomationTestTrigger(TeamAPIView):
    @extend_schema(request=None, responses={200: dict}, summary="Test Trigger: fetch a sample")
    def post(self, request, pk: int):
        automation = selectors.automation_get(team=self.team, pk=pk)
        return Response({"sample": services.automation_test_trigger(automation=automation)})


class StepTest(TeamAPIView):
    @extend_schema(request=None, responses={200: s.ExecutionDetailOut}, summary="Test Action")
    def post(self, request, pk: int, key: str):
        automation = selectors.automation_get(team=self.team, pk=pk)
        execution = services.step_test(automation=automation, key=key)
        return Response(
            s.ExecutionDetailOut(selectors.execution_get(team=self.team, pk=execution.pk)).data
        )


class DataSuggestions(TeamAPIView):
    @extend_schema(
        parameters=[
            OpenApiParameter("before", str, required=False,
                             description="the key of the step whose fields will use them"),
            OpenApiParameter("parent", str, required=False,
                             description="for a new step inside a branch or a loop: the key "
                                         "of the step holding it (with branch)"),
            OpenApiParameter("branch", str, required=False, enum=["then", "else", "do"],
                             description="the list of parent the new step goes at the end of"),
        ],
        responses={200: dict}, summary="Suggested Data Elements for a step's fields",
    )  # fmt: skip
    def get(self, request, pk: int):
        automation = selectors.automation_get(team=self.team, pk=pk)
        params = request.query_params
        before, parent = params.get("before") or None, params.get("parent") or None
        branch = params.get("branch", "")
        if before and parent:
            raise ValidationError({"parent": ["Give either before or parent, not both."]})
        steps = {s.key: s for s in automation.steps.only("key", "connector", "action")}
        if before and before not in steps:
            raise ValidationError({"before": [f"This automation has no step {before!r}."]})
        if parent:
            try:
                selectors.step_holder(
                    automation=automation, parent=parent, branch=branch, steps=steps
                )
            except selectors.NoSuchPlace as exc:
                raise ValidationError({exc.field: [exc.message]}) from None
        where = {"parent": parent, "branch": branch} if parent else {}
        return Response(services.data_suggestions(automation=automation, before=before, **where))


class ExecutionCursor(CursorPagination):
    """Executions are the one list that grows without bound (a million rows is a normal
    month): a page number makes the database count every matching row and skip all the
    earlier pages, which slows with the log. A cursor (the last row's time) reads the
    next page from the index at once, whatever its depth; ``next``/``previous`` carry
    it, and there is no ``count``. Other lists keep page numbers."""

    ordering = ("-created_at", "-pk")
    page_size = 50


class ExecutionList(TeamAPIView):
    @extend_schema(
        parameters=[
            OpenApiParameter("automation", int, required=False),
            OpenApiParameter("status", str, required=False, enum=Status.values),
            OpenApiParameter("since", str, required=False, description="ISO 8601 time"),
            OpenApiParameter("until", str, required=False, description="ISO 8601 time"),
        ],
        responses=s.ExecutionOut(many=True),
    )
    def get(self, request):
        status_filter = request.query_params.get("status")
        if status_filter and status_filter not in Status.values:
            raise ValidationError({"status": [f"must be one of: {', '.join(Status.values)}"]})
        executions = selectors.execution_list(
            team=self.team, automation_id=_int_param(request, "automation"), status=status_filter,
            since=_time_param(request, "since"), until=_time_param(request, "until"),
        ).values(*s.EXECUTION_ROW.values())  # fmt: skip
        paginator = ExecutionCursor()
        page = paginator.paginate_queryset(executions, request, view=self)
        return paginator.get_paginated_response([s.execution_row(row) for row in page])


class ExecutionDetail(TeamAPIView):
    @extend_schema(responses=s.ExecutionDetailOut)
    def get(self, request, pk: int):
        return Response(s.ExecutionDetailOut(selectors.execution_get(team=self.team, pk=pk)).data)


class ExecutionRetry(TeamAPIView):
    write_action = roles.Action.RUN

    @extend_schema(request=None, responses={202: s.ExecutionOut, 200: s.ExecutionOut})
    def post(self, request, pk: int):
        """202 with the new retry; 200 with the one made before when asked again."""
        execution = selectors.execution_get(team=self.team, pk=pk)
        retry, created = services.execution_retry(execution=execution, actor=request.user)
        answer = status.HTTP_202_ACCEPTED if created else status.HTTP_200_OK
        return Response(s.ExecutionOut(retry).data, status=answer)


class BlueprintList(APIView):
    @extend_schema(responses=s.BlueprintOut(many=True), summary="Ready-made automations")
    def get(self, request):
        from automations.blueprints import blueprints

        rows = [
            {"key": b["key"], "title": b["title"], "description": b["description"],
             "automations": [d["name"] for d in b["documents"]]}
            for b in blueprints().values()
        ]  # fmt: skip
        return Response(s.BlueprintOut(rows, many=True).data)


class BlueprintUse(TeamAPIView):
    @extend_schema(request=s.BlueprintUseIn, responses={201: s.AutomationOut(many=True)})
    def post(self, request, key: str):
        data = _valid(s.BlueprintUseIn, request)
        project = selectors.project_get(team=self.team, pk=data["project"])
        accounts = data.get("accounts") or {}
        for connector, account_id in accounts.items():
            account = account_selectors.account_get(team=self.team, pk=account_id)
            if account.connector != connector:
                raise ValidationError(
                    {f"accounts.{connector}": [f"is a {account.connector} account"]}
                )
        created = services.blueprint_use(
            project=project, key=key, accounts=accounts, created_by=request.user
        )
        order = {a.pk: index for index, a in enumerate(created)}
        rows = selectors.automation_list(team=self.team).filter(pk__in=order)
        rows = sorted(rows.prefetch_related("steps"), key=lambda a: order[a.pk])
        context = {"request": request, "role": self.membership.role}
        data = s.AutomationOut(rows, many=True, context=context).data
        return Response(data, status=status.HTTP_201_CREATED)


def _valid(serializer_class, request) -> dict:
    serializer = serializer_class(data=request.data)
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)


def _int_param(request, name: str) -> int | None:
    value = request.query_params.get(name)
    if value in (None, ""):
        return None
    try:
        return int(value)
    except ValueError:
        raise ValidationError({name: ["must be a whole number"]}) from None


def _time_param(request, name: str):
    value = request.query_params.get(name)
    if not value:
        return None
    parsed = parse_datetime(value)
    if parsed is None:
        raise ValidationError({name: ["must be an ISO 8601 date and time"]})
    return parsed


def _automation(automation, request, code: int = status.HTTP_200_OK) -> Response:
    team = automation.project.team
    automation = get_object_or_404(
        selectors.automation_list(team=team).prefetch_related("steps"), pk=automation.pk
    )
    membership = account_selectors.membership_get(user=request.user, team=team)
    context = {"request": request, "role": membership.role if membership else None}
    return Response(s.AutomationOut(automation, context=context).data, status=code)
