from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    path("hooks/", include("automations.hook_urls")),
    path("api/", include("automations.api.urls")),
]
