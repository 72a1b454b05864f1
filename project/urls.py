from django.contrib import admin
from django.urls import path

from project.views import home, visits

urlpatterns = [
    path("", home, name="home"),
    path("visits/", visits, name="visits"),
    path("admin/", admin.site.urls),
]
