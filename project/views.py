from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render

from sessions_app.conf import app_settings


def visits(request: HttpRequest) -> JsonResponse:
    """The header-session example: counts this client's visits in ``request.session``."""
    request.session["visits"] = request.session.get("visits", 0) + 1
    return JsonResponse({"visits": request.session["visits"]})


def home(request: HttpRequest) -> HttpResponse:
    engine = settings.DATABASES["default"]["ENGINE"].rsplit(".", 1)[-1]
    context = {"provider": app_settings.DEFAULT_PROVIDER, "database": engine}
    return render(request, "index.html", context)
