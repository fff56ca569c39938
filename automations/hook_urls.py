from django.urls import path

from automations import webhooks

app_name = "hooks"

urlpatterns = [
    path("<str:token>/", webhooks.http_hook, name="http"),
]
