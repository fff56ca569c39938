from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from automations.api import team_views, views

v1 = [
    path("connectors/", views.ConnectorCatalog.as_view(), name="connectors"),
    path("teams/", views.TeamList.as_view(), name="teams"),
    path("teams/<slug:slug>/", team_views.TeamDetail.as_view(), name="team"),
    path("teams/<slug:slug>/members/", team_views.MemberList.as_view(), name="members"),
    path(
        "teams/<slug:slug>/members/<int:user_id>/",
        team_views.MemberDetail.as_view(),
        name="member",
    ),
    path("teams/<slug:slug>/invitations/", team_views.InvitationList.as_view(), name="invitations"),
    path(
        "teams/<slug:slug>/invitations/<int:pk>/",
        team_views.InvitationDetail.as_view(),
        name="invitation",
    ),
    path("teams/<slug:slug>/audit/", team_views.AuditList.as_view(), name="audit"),
    path("tokens/", team_views.TokenList.as_view(), name="tokens"),
    path("tokens/<int:pk>/", team_views.TokenDetail.as_view(), name="token"),
    path("accounts/", views.AccountList.as_view(), name="accounts"),
    path("accounts/<int:pk>/", views.AccountDetail.as_view(), name="account"),
    path(
        "accounts/<int:pk>/lookup/<slug:name>/",
        views.AccountLookup.as_view(),
        name="account-lookup",
    ),
    path("variables/", views.VariableList.as_view(), name="variables"),
    path("variables/<int:pk>/", views.VariableDetail.as_view(), name="variable"),
    path("projects/", views.ProjectList.as_view(), name="projects"),
    path("projects/<int:pk>/", views.ProjectDetail.as_view(), name="project"),
    path("automations/", views.AutomationList.as_view(), name="automations"),
    path("automations/import/", views.AutomationImport.as_view(), name="automation-import"),
    path("automations/<int:pk>/", views.AutomationDetail.as_view(), name="automation"),
    path(
        "automations/<int:pk>/export/", views.AutomationExport.as_view(), name="automation-export"
    ),
    path(
        "automations/<int:pk>/activate/",
        views.AutomationActivate.as_view(),
        name="automation-activate",
    ),
    path(
        "automations/<int:pk>/deactivate/",
        views.AutomationDeactivate.as_view(),
        name="automation-deactivate",
    ),
    path("automations/<int:pk>/run/", views.AutomationRun.as_view(), name="automation-run"),
    path(
        "automations/<int:pk>/test-trigger/",
        views.AutomationTestTrigger.as_view(),
        name="automation-test-trigger",
    ),
    path("automations/<int:pk>/steps/<slug:key>/test/", views.StepTest.as_view(), name="step-test"),
    path(
        "automations/<int:pk>/data-elements/", views.DataSuggestions.as_view(), name="data-elements"
    ),
    path("templates/", views.BlueprintList.as_view(), name="templates"),
    path("templates/<slug:key>/use/", views.BlueprintUse.as_view(), name="template-use"),
    path("executions/", views.ExecutionList.as_view(), name="executions"),
    path("executions/<int:pk>/", views.ExecutionDetail.as_view(), name="execution"),
    path("executions/<int:pk>/retry/", views.ExecutionRetry.as_view(), name="execution-retry"),
]

app_name = "api"

urlpatterns = [
    path("v1/", include(v1)),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="api:schema"), name="docs"),
]
