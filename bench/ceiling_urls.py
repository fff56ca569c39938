from django.urls import path

from bench.views import ceiling

urlpatterns = [path("bench/ceiling/", ceiling)]
