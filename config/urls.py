from django.contrib import admin
from django.urls import include, path

from automations.views.files import generated_file
from automations.views.metrics import metrics

urlpatterns = [
    path("admin/", admin.site.urls),
    path("hooks/", include("automations.hook_urls")),
    path("api/", include("automations.api.urls")),
    path("media/generated/<path:path>", generated_file, name="generated-file"),
    path("metrics", metrics, name="metrics"),
    path("", include("accounts.urls")),
    path("", include("automations.wizard_urls")),
]
