from django.conf import settings
from django.contrib import admin
from django.urls import path
from django.views.generic import TemplateView

urlpatterns = [
    path(
        "",
        TemplateView.as_view(
            template_name="index.html",
            extra_context={
                "provider": settings.SESSIONS_APP["DEFAULT_PROVIDER"],
                "database": settings.DATABASES["default"]["ENGINE"].rsplit(".", 1)[-1],
            },
        ),
        name="home",
    ),
    path("admin/", admin.site.urls),
]
