"""What every view of the API shares: its schema, throttles and error answers."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from drf_spectacular.openapi import AutoSchema
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse
from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser
from rest_framework.request import Request
from rest_framework.views import APIView

from sessions_app.api.errors import exception_handler
from sessions_app.api.headers import mark_private
from sessions_app.api.outputs import ErrorOutput
from sessions_app.api.throttles import AnonThrottle, SessionThrottle, UserThrottle
from sessions_app.exceptions import ValidationError
from sessions_app.limits import MAX_JSON_DEPTH
from sessions_app.validation import storable_json

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

# Answers that tell when to try again.
RETRY_AFTER_CODES = frozenset({"429", "502", "503"})
RETRY_AFTER = {
    "schema": {"type": "integer"},
    "description": "Seconds to wait before retrying (sent when known).",
}


class ApiSchema(AutoSchema):
    """drf-spectacular's schema, with ``Retry-After`` on the answers that may carry it."""

    def _get_response_headers_for_code(
        self, status_code: Any, direction: str = "response"
    ) -> dict[str, Any]:
        headers: dict[str, Any] = super()._get_response_headers_for_code(status_code, direction)
        if str(status_code) in RETRY_AFTER_CODES:
            headers = {"Retry-After": RETRY_AFTER, **headers}
        return headers


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


class StorableJSONParser(JSONParser):
    """DRF's JSON parser, refusing a body that no view could store (400 with a ``code``):
    malformed JSON, nesting deeper than ``MAX_JSON_DEPTH``, text with NUL or lone surrogates."""

    def parse(self, stream: Any, media_type: Any = None, parser_context: Any = None) -> Any:
        try:
            data = super().parse(stream, media_type, parser_context)
        except ParseError as exc:
            raise ValidationError(str(exc.detail), error_code="malformed_json") from None
        except RecursionError:
            raise ValidationError(
                f"The body is nested deeper than {MAX_JSON_DEPTH} levels.",
                error_code="json_too_deep",
            ) from None
        if not isinstance(data, dict):
            storable_json(data, "The body")
            return data
        storable_json(list(data), "A field name")
        for field, value in data.items():
            storable_json(value, field, depth=1, details={"field": field})
        return data


class ApiView(APIView):
    """Throttles, parsers, error answers and caching headers are the API's own, whatever
    ``REST_FRAMEWORK`` says."""

    parser_classes = [StorableJSONParser]
    schema = ApiSchema()
    throttle_classes = [UserThrottle, AnonThrottle, SessionThrottle]

    def get_exception_handler(self) -> Callable[[Exception, dict[str, Any]], Any]:
        return exception_handler

    def finalize_response(self, request: Request, response: Any, *args: Any, **kwargs: Any) -> Any:
        response = super().finalize_response(request, response, *args, **kwargs)
        mark_private(self, response)
        return response
