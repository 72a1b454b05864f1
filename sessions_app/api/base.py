"""What every view of the API shares: its schema, throttles and error answers."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse
from rest_framework.parsers import JSONParser
from rest_framework.views import APIView

from sessions_app.api.errors import exception_handler
from sessions_app.api.outputs import ErrorOutput
from sessions_app.api.throttles import AnonThrottle, SessionThrottle, UserThrottle

ERROR_DESCRIPTIONS = {
    400: "Invalid input: field errors, or {detail, code}.",
    401: "Not authenticated.",
    403: "Not allowed.",
    404: "No such session visible to the caller (its existence is never revealed).",
    409: "The session's state does not allow this (archived, limit reached, …).",
    412: "If-Match names a version that is no longer current.",
    413: "The content is longer than MAX_MESSAGE_CHARS.",
    422: "The Idempotency-Key was used with a different request.",
    429: "Throttled; see Retry-After.",
    502: "The provider failed; the user's message is kept.",
    503: "A dependency is down.",
}

IDEMPOTENCY_KEY = OpenApiParameter(
    "Idempotency-Key",
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    description="A retried request with the same key returns the first response.",
)


def errors(*codes: int) -> dict[int, OpenApiResponse]:
    """OpenAPI responses for these error codes (400 bodies may hold field errors)."""
    return {
        code: OpenApiResponse(
            response=OpenApiTypes.OBJECT if code == 400 else ErrorOutput,
            description=ERROR_DESCRIPTIONS[code],
        )
        for code in codes
    }


class ApiView(APIView):
    """Throttles, parsers and error answers are the API's own, whatever ``REST_FRAMEWORK`` says."""

    parser_classes = [JSONParser]
    throttle_classes = [UserThrottle, AnonThrottle, SessionThrottle]

    def get_exception_handler(self) -> Callable[[Exception, dict[str, Any]], Any]:
        return exception_handler
