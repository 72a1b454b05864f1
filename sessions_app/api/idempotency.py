"""``Idempotency-Key`` on POST: a retried request gets the first response, nothing twice."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from django.http import HttpResponse, StreamingHttpResponse
from rest_framework.request import Request
from rest_framework.response import Response

from sessions_app.api.access import session_key_of
from sessions_app.api.streaming import MEDIA_TYPE, Finish, stream_headers
from sessions_app.conf import app_settings
from sessions_app.exceptions import ReplyNotStoredError
from sessions_app.http.request_info import client_ip
from sessions_app.services import idempotency
from sessions_app.services.idempotency import StoredResponse
from sessions_app.services.reconnect import DISCONNECTED
from sessions_app.utils.keys import hash_key

logger = logging.getLogger(__name__)

HEADER = "Idempotency-Key"
Produce = Callable[[Finish | None], Any]


def replayed_headers() -> tuple[str, ...]:
    """What a replay repeats of the headers: the session key's (``HEADER_NAME``), ``Location``."""
    return (app_settings.HEADER_NAME, "Location")


def _caller(request: Request) -> str:
    if request.user and request.user.is_authenticated:
        return f"user:{request.user.pk}"
    key = session_key_of(request)
    if key:
        return f"key:{hash_key(key)}"
    return f"anon:{client_ip(request) or ''}"


def _kept(status: int, failure: Exception | None) -> bool:
    """Throttled and failed requests created nothing and a retry may succeed: not kept.
    A provider failure (502) is, because the user's message was stored, and so is a
    reply lost with the database (503): a retry must not store the message again."""
    if isinstance(failure, ReplyNotStoredError):
        return True
    return status != 429 and (status < 500 or status == 502)


def _replay(stored: StoredResponse) -> Any:
    if stored.headers.get("Content-Type") == MEDIA_TYPE:
        response: Any = stream_headers(HttpResponse(stored.body, content_type=MEDIA_TYPE))
    else:
        response = Response(stored.body, status=stored.status)
    replayed = replayed_headers()
    for name, value in stored.headers.items():
        if name in replayed:
            response[name] = value
    response["Idempotent-Replayed"] = "true"
    return response


def respond_once(view: Any, request: Request, produce: Produce, *, streaming: bool) -> Any:
    """``produce(on_finish)``'s response, or the stored one of an earlier request with the key.

    A streamed response is stored when its stream ends (``on_finish`` receives
    the transcript); any other when it is made.
    """
    key = request.headers.get(HEADER)
    if key is None:
        return produce(None)
    scope = f"{_caller(request)}\0{request.path}"
    claimed = idempotency.claim(
        scope, key, idempotency.fingerprint(request.method, request.data, streaming)
    )
    if isinstance(claimed, StoredResponse):
        return _replay(claimed)

    def store_transcript(transcript: str) -> None:
        _settle(
            lambda: claimed.store(StoredResponse(200, transcript, {"Content-Type": MEDIA_TYPE}))
        )

    failure: Exception | None = None
    try:
        try:
            response = produce(store_transcript)
        except Exception as exc:
            failure = exc
            response = view.handle_exception(exc)  # re-raises what is not an API error
    except BaseException:
        _settle(claimed.release)
        raise
    if isinstance(response, StreamingHttpResponse):
        return response
    if not _kept(response.status_code, failure):
        _settle(claimed.release)
    else:
        headers = {name: response[name] for name in replayed_headers() if name in response}
        _settle(lambda: claimed.store(StoredResponse(response.status_code, response.data, headers)))
    return response


def _settle(write: Callable[[], None]) -> None:
    """Store or release the claim; if even a fresh connection fails, the answer still goes out.

    The claim then stays in progress until ``ABANDONED_AFTER``.
    """
    try:
        write()
    except DISCONNECTED:
        logger.warning("Could not settle an Idempotency-Key claim: the database is unavailable.")
