"""The API's answer to each error of the Python API: a status code and ``{"detail", "code"}``."""

from __future__ import annotations

import math
from typing import Any

from django.core.exceptions import RequestDataTooBig
from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import status
from rest_framework.response import Response
from rest_framework.serializers import as_serializer_error
from rest_framework.views import exception_handler as drf_exception_handler

from sessions_app.exceptions import (
    ConfigurationError,
    ContentTooLongError,
    ContextConflictError,
    IdempotencyKeyReusedError,
    MiddlewareError,
    ProviderError,
    RateLimitExceeded,
    SessionError,
    SessionNotFoundError,
    SessionStateError,
    StorageError,
    ValidationError,
)

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
    return body


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """Map ``SessionError``s; everything else is DRF's (which returns None for a 500)."""
    if isinstance(exc, SessionError):
        response = Response(error_body(exc), status=status_for(exc))
        if isinstance(exc, RateLimitExceeded):
            response["Retry-After"] = str(max(1, math.ceil(exc.retry_after)))
        if isinstance(exc, SessionStateError) and exc.error_code == "idempotency_key_in_use":
            response["Retry-After"] = "1"
        return response
    if isinstance(exc, DjangoValidationError):  # e.g. query parameters a FilterSet refused
        return Response(as_serializer_error(exc), status=status.HTTP_400_BAD_REQUEST)
    if isinstance(exc, RequestDataTooBig):
        return Response(
            {"detail": "The request body is too large.", "code": "request_too_large"},
            status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE,
        )
    return drf_exception_handler(exc, context)
