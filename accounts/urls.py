from django.contrib.auth import views as auth_views
from django.urls import path, reverse_lazy

from accounts.views import audit, invitations, profile, teams, variables

app_name = "accounts"

RESET = "accounts/password_reset"

urlpatterns = [
    path("teams/new/", teams.create, name="team-new"),
    path("teams/switch/", teams.switch, name="team-switch"),
    path("teams/<slug:slug>/", teams.settings_page, name="team"),
    path("teams/<slug:slug>/audit/", audit.audit_log, name="audit"),
    path("teams/<slug:slug>/rename/", teams.rename, name="team-rename"),
    path("teams/<slug:slug>/delete/", teams.delete, name="team-delete"),
    path("teams/<slug:slug>/transfer/", teams.transfer, name="team-transfer"),
    path("teams/<slug:slug>/leave/", teams.leave, name="team-leave"),
    path("teams/<slug:slug>/invite/", teams.invite, name="invite"),
    path(
        "teams/<slug:slug>/invitations/<int:pk>/resend/",
        teams.invitation_resend,
        name="invitation-resend",
    ),
    path(
        "teams/<slug:slug>/invitations/<int:pk>/revoke/",
        teams.invitation_revoke,
        name="invitation-revoke",
    ),
    path("teams/<slug:slug>/variables/", variables.variable_add, name="variable-add"),
    path(
        "teams/<slug:slug>/variables/<int:pk>/",
        variables.variable_change,
        name="variable-change",
    ),
    path(
        "teams/<slug:slug>/variables/<int:pk>/delete/",
        variables.variable_delete,
        name="variable-delete",
    ),
    path("teams/<slug:slug>/members/<int:user_id>/role/", teams.member_role, name="member-role"),
    path(
        "teams/<slug:slug>/members/<int:user_id>/remove/",
        teams.member_remove,
        name="member-remove",
    ),
    path("invitations/<str:token>/", invitations.invitation, name="invitation"),
    path("signup/", invitations.signup, name="signup"),
    path("profile/", profile.profile, name="profile"),
    path("profile/password/", profile.PasswordChange.as_view(), name="password-change"),
    path("profile/tokens/", profile.token_create, name="token-create"),
    path("profile/tokens/<int:pk>/revoke/", profile.token_revoke, name="token-revoke"),
    path(
        "password-reset/",
        auth_views.PasswordResetView.as_view(
            template_name=f"{RESET}_form.html",
            email_template_name="accounts/email/password_reset.txt",
            subject_template_name="accounts/email/password_reset_subject.txt",
            success_url=reverse_lazy("accounts:password-reset-done"),
        ),
        name="password-reset",
    ),
    path(
        "password-reset/sent/",
        auth_views.PasswordResetDoneView.as_view(template_name=f"{RESET}_done.html"),
        name="password-reset-done",
    ),
    path(
        "password-reset/<uidb64>/<token>/",
        auth_views.PasswordResetConfirmView.as_view(
            template_name=f"{RESET}_confirm.html",
            success_url=reverse_lazy("accounts:password-reset-complete"),
        ),
        name="password-reset-confirm",
    ),
    path(
        "password-reset/done/",
        auth_views.PasswordResetCompleteView.as_view(template_name=f"{RESET}_complete.html"),
        name="password-reset-complete",
    ),
]
