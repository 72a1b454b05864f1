"""The API's answer to each error of the Python API: a status code and ``{"detail", "code"}``."""

from __future__ import annotations

import math
import sys
from collections.abc import Callable
from typing import Any, TypeGuard, TypeVar

from django.core.exceptions import RequestDataTooBig
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import Resolver404, resolve
from django.views import defaults
from rest_framework import status
from rest_framework.response import Response
from rest_framework.serializers import as_serializer_error
from rest_framework.views import exception_handler as drf_exception_handler

from sessions_app.db_locks import is_lock_timeout
from sessions_app.exceptions import (
    ConfigurationError,
    ContentTooLongError,
    ContextConflictError,
    DatabaseBusyError,
    IdempotencyKeyReusedError,
    MiddlewareError,
    ProviderError,
    RateLimitExceeded,
    ReplyNotStoredError,
    SessionError,
    SessionNotFoundError,
    SessionStateError,
    StorageError,
    ValidationError,
)
from sessions_app.services.reconnect import DISCONNECTED

API_NAMESPACE = "sessions_api"  # ``app_name`` of ``sessions_app.api.urls``
# Seconds; by then the connection was already tried twice (once on a fresh connection).
DATABASE_RETRY_AFTER = 5
ResponseT = TypeVar("ResponseT", bound=HttpResponse)

# Most specific first: the first class an error is an instance of decides.
STATUS_BY_ERROR: tuple[tuple[type[SessionError], int], ...] = (
    (SessionNotFoundError, status.HTTP_404_NOT_FOUND),
    (ContentTooLongError, status.HTTP_413_REQUEST_ENTITY_TOO_LARGE),
    (IdempotencyKeyReusedError, status.HTTP_422_UNPROCESSABLE_ENTITY),
    (ValidationError, status.HTTP_400_BAD_REQUEST),
    (ConfigurationError, status.HTTP_400_BAD_REQUEST),
    # Only an If-Match header sets an expected version, so a conflict is a failed precondition.
    (ContextConflictError, status.HTTP_412_PRECONDITION_FAILED),
    (SessionStateError, status.HTTP_409_CONFLICT),
    (RateLimitExceeded, status.HTTP_429_TOO_MANY_REQUESTS),
    (MiddlewareError, status.HTTP_400_BAD_REQUEST),
    (ProviderError, status.HTTP_502_BAD_GATEWAY),
    (StorageError, status.HTTP_503_SERVICE_UNAVAILABLE),
)


def status_for(error: SessionError) -> int:
    for kind, code in STATUS_BY_ERROR:
        if isinstance(error, kind):
            return code
    return status.HTTP_400_BAD_REQUEST


def error_body(error: SessionError) -> dict[str, Any]:
    body = error.to_dict()
    if isinstance(error, ProviderError):
        body["code"] = "provider_error"  # the contract's code for every provider failure
        body["reason"] = error.error_code  # which failure: rate_limited, timeout, …
        body["provider"] = error.provider
    return body


def _finite(seconds: float | None) -> TypeGuard[float]:
    return seconds is not None and math.isfinite(seconds)


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """Map ``SessionError``s; everything else is DRF's (which returns None for a 500)."""
    failure = database_failure(exc, Response)
    if failure is not None:
        return failure
    if isinstance(exc, SessionError):
        response = Response(error_body(exc), status=status_for(exc))
        if isinstance(exc, RateLimitExceeded):
            response["Retry-After"] = str(max(1, math.ceil(exc.retry_after)))
        if isinstance(exc, SessionStateError) and exc.error_code == "idempotency_key_in_use":
            response["Retry-After"] = "1"
        if isinstance(exc, ReplyNotStoredError):
            response["Retry-After"] = str(DATABASE_RETRY_AFTER)
        if isinstance(exc, ProviderError) and _finite(exc.retry_after):
            response["Retry-After"] = str(max(1, math.ceil(exc.retry_after)))
        return response
    if isinstance(exc, DjangoValidationError):  # e.g. query parameters a FilterSet refused
        return Response(as_serializer_error(exc), status=status.HTTP_400_BAD_REQUEST)
    if isinstance(exc, RequestDataTooBig):
        return Response(
            {"detail": "The request body is too large.", "code": "request_too_large"},
            status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE,
        )
    return drf_exception_handler(exc, context)


def database_failure(
    exc: BaseException | None, respond: Callable[..., ResponseT]
) -> ResponseT | None:
    """503 for a database that is busy or gone, as a DRF or a plain JSON response; else None."""
    if is_lock_timeout(exc):  # before DISCONNECTED: it is an OperationalError too
        return busy(respond)
    if isinstance(exc, DISCONNECTED):  # after a reconnect was tried: the database is gone
        return database_unavailable(respond)
    return None


def database_unavailable(respond: Callable[..., ResponseT]) -> ResponseT:
    """503 ``database_unavailable`` with ``Retry-After``, as a DRF or a plain JSON response."""
    response = respond(
        {"detail": "The database is unavailable; retry later.", "code": "database_unavailable"},
        status=status.HTTP_503_SERVICE_UNAVAILABLE,
    )
    response["Retry-After"] = str(DATABASE_RETRY_AFTER)
    return response


def busy(respond: Callable[..., ResponseT]) -> ResponseT:
    """503 ``busy`` with ``Retry-After``: a lock was held longer than ``LOCK_TIMEOUT``."""
    response = respond(DatabaseBusyError().to_dict(), status=status.HTTP_503_SERVICE_UNAVAILABLE)
    response["Retry-After"] = "1"
    return response


def server_error(request: HttpRequest) -> HttpResponse:
    """``handler500``: under the API a JSON ``{"detail", "code"}``, elsewhere Django's page.

    It also answers errors raised outside the API's views (in middleware, e.g.
    saving ``request.session``), which DRF's exception handler never sees.
    """
    if not _is_api(request):
        return defaults.server_error(request)
    failure = database_failure(sys.exc_info()[1], JsonResponse)
    if failure is not None:
        return failure
    return JsonResponse(
        {"detail": "Internal server error.", "code": "server_error"},
        status=status.HTTP_500_INTERNAL_SERVER_ERROR,
    )


def _is_api(request: HttpRequest) -> bool:
    try:
        match = resolve(request.path_info, getattr(request, "urlconf", None))
    except Resolver404:
        return False
    return API_NAMESPACE in match.namespaces
