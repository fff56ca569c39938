from django.urls import include, path

from bench.views import ceiling

urlpatterns = [
    path("bench/ceiling/", ceiling),
    path("", include("config.urls")),
]
