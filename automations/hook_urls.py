from django.urls import path

from automations import webhooks

app_name = "hooks"

urlpatterns = [
    path("contentstack/<str:token>/", webhooks.contentstack_hook, name="contentstack"),
    path("<str:token>/", webhooks.http_hook, name="http"),
]
