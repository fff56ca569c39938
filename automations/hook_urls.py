from django.urls import path

from automations import webhooks
from automations.metrics import counted_webhook

app_name = "hooks"

urlpatterns = [
    path(
        "contentstack/<str:token>/",
        counted_webhook("contentstack", webhooks.contentstack_hook),
        name="contentstack",
    ),
    path("<str:token>/", counted_webhook("http", webhooks.http_hook), name="http"),
]
