from django.contrib import admin
from django.urls import include, path

from project.views import home, visits

urlpatterns = [
    path("", home, name="home"),
    path("visits/", visits, name="visits"),
    path("admin/", admin.site.urls),
    path("api/v1/", include("sessions_app.api.urls")),
]

# JSON errors under the API (a lost database is 503 database_unavailable); Django's page elsewhere.
handler500 = "sessions_app.api.errors.server_error"
