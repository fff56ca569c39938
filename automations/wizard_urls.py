from django.contrib.auth import views as auth_views
from django.urls import path
from django.views.generic import RedirectView

from automations.views import accounts, dashboard, executions, on_failure, sampling, wizard

app_name = "wizard"

urlpatterns = [
    path("", dashboard.dashboard, name="dashboard"),
    path(
        "login/", auth_views.LoginView.as_view(template_name="automations/login.html"), name="login"
    ),
    path("logout/", auth_views.LogoutView.as_view(next_page="/login/"), name="logout"),
    # The automations are listed on the dashboard; this path is the prefix of each one's
    # page, which the log lists join with ids (one reverse() a page, not one a row).
    path("automations/", RedirectView.as_view(pattern_name="wizard:dashboard"), name="automations"),
    path("automations/new/", dashboard.automation_new, name="new"),
    path("automations/import/", dashboard.automation_import, name="import"),
    path("automations/<int:pk>/rename/", dashboard.automation_rename, name="rename"),
    path("automations/<int:pk>/clone/", dashboard.automation_clone, name="clone"),
    path("automations/<int:pk>/export/", dashboard.automation_export, name="export"),
    path("projects/new/", dashboard.project_new, name="project-new"),
    path("projects/<int:pk>/rename/", dashboard.project_rename, name="project-rename"),
    path("projects/<int:pk>/delete/", dashboard.project_delete, name="project-delete"),
    path("automations/<int:pk>/", wizard.editor, name="editor"),
    path("automations/<int:pk>/trigger/", wizard.trigger_panel, name="trigger"),
    path("automations/<int:pk>/trigger/test/", wizard.trigger_test, name="trigger-test"),
    path("automations/<int:pk>/trigger/listen/", sampling.listen, name="trigger-listen"),
    path(
        "automations/<int:pk>/trigger/listen/stop/",
        sampling.listen_stop,
        name="trigger-listen-stop",
    ),
    path("automations/<int:pk>/trigger/sample/", sampling.sample_paste, name="trigger-sample"),
    path("automations/<int:pk>/delete/", wizard.automation_delete, name="delete"),
    path("automations/<int:pk>/steps/new/", wizard.step_panel, name="step-new"),
    path("automations/<int:pk>/steps/reorder/", wizard.step_reorder, name="step-reorder"),
    path("automations/<int:pk>/steps/<slug:key>/", wizard.step_panel, name="step"),
    path("automations/<int:pk>/steps/<slug:key>/test/", wizard.step_test, name="step-test"),
    path("automations/<int:pk>/steps/<slug:key>/delete/", wizard.step_delete, name="step-delete"),
    path("automations/<int:pk>/activate/", wizard.switch, {"on": True}, name="activate"),
    path("automations/<int:pk>/deactivate/", wizard.switch, {"on": False}, name="deactivate"),
    path(
        "automations/<int:pk>/accounts/<slug:connector_key>/new/",
        wizard.account_new,
        name="account-new",
    ),
    path("automations/<int:pk>/on-failure/", on_failure.on_failure, name="on-failure"),
    path("automations/<int:pk>/executions/", wizard.executions, name="executions"),
    path(
        "automations/<int:pk>/lookup/<slug:connector_key>/<slug:name>/",
        wizard.lookup_options,
        name="lookup",
    ),
    path("executions/", executions.execution_list, name="executions-all"),
    path("executions/<int:pk>/", wizard.execution_detail, name="execution"),
    path("accounts/", accounts.account_list, name="accounts"),
    path("accounts/new/<slug:connector_key>/", accounts.account_add, name="account-add"),
    path("accounts/<int:pk>/", accounts.account_edit, name="account"),
    path("accounts/<int:pk>/delete/", accounts.account_delete, name="account-delete"),
    path("executions/<int:pk>/retry/", wizard.execution_retry, name="execution-retry"),
]
