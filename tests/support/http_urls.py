"""A tiny URLconf of views that use ``request.session``, for the middleware tests."""

from __future__ import annotations

from django.contrib.auth import get_user_model, login, logout
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import path


def visits(request: HttpRequest) -> JsonResponse:
    """The reference middleware's example: count this client's visits."""
    request.session["visits"] = request.session.get("visits", 0) + 1
    return JsonResponse({"visits": request.session["visits"]})


async def avisits(request: HttpRequest) -> JsonResponse:
    count = await request.session.aget("visits", 0) + 1
    await request.session.aset("visits", count)
    return JsonResponse({"visits": count})


def read(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"visits": request.session.get("visits", 0)})


def untouched(request: HttpRequest) -> HttpResponse:
    return HttpResponse("no session here")


def with_other_cookie(request: HttpRequest) -> HttpResponse:
    request.session["visits"] = request.session.get("visits", 0) + 1
    response = HttpResponse("ok")
    response.set_cookie("theme", "dark")
    return response


def fails(request: HttpRequest) -> HttpResponse:
    request.session["visits"] = request.session.get("visits", 0) + 1
    return HttpResponse("boom", status=500)


def deleted_meanwhile(request: HttpRequest) -> HttpResponse:
    """Another request (a logout elsewhere) deletes this session before it is saved."""
    request.session["visits"] = request.session.get("visits", 0) + 1
    type(request.session)().delete(request.session.session_key)
    return HttpResponse("too late")


def sign_in(request: HttpRequest, username: str) -> HttpResponse:
    login(request, get_user_model().objects.get(username=username))
    return HttpResponse("signed in")


def sign_out(request: HttpRequest) -> HttpResponse:
    logout(request)
    return HttpResponse("signed out")


def who(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"user": request.user.get_username()})


urlpatterns = [
    path("visits/", visits),
    path("avisits/", avisits),
    path("read/", read),
    path("untouched/", untouched),
    path("other-cookie/", with_other_cookie),
    path("fails/", fails),
    path("deleted-meanwhile/", deleted_meanwhile),
    path("login/<str:username>/", sign_in),
    path("logout/", sign_out),
    path("who/", who),
]
