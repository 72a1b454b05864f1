from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from sessions_app.conf import app_settings


def home(request: HttpRequest) -> HttpResponse:
    engine = settings.DATABASES["default"]["ENGINE"].rsplit(".", 1)[-1]
    context = {"provider": app_settings.DEFAULT_PROVIDER, "database": engine}
    return render(request, "index.html", context)
