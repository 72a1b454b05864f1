"""The error hierarchy of the Python API.

Every error carries the public ``session_id`` it concerns (when there is one)
and a stable ``error_code``; the HTTP layer maps classes to status codes.
"""

from __future__ import annotations

from typing import Any


class SessionError(Exception):
    """``SessionError(message, session_id, error_code, context)`` as in the documents.

    ``details`` is answered to API clients; ``context`` (the documents' debugging data) is
    not: it stays with the exception, for logs and handlers.
    """

    error_code = "session_error"
    default_message = "Session error."

    def __init__(
        self,
        message: str | None = None,
        session_id: Any = None,
        error_code: str | None = None,
        context: dict[str, Any] | None = None,
        *,
        details: dict[str, Any] | None = None,
    ) -> None:
        self.message = message or self.default_message
        self.session_id = str(session_id) if session_id is not None else None
        if error_code:
            self.error_code = error_code
        self.details = details or {}
        self.context = context or {}
        super().__init__(self.message)

    def __str__(self) -> str:
        return self.message

    def to_dict(self) -> dict[str, Any]:
        return {
            "detail": self.message,
            "code": self.error_code,
            "session_id": self.session_id,
            **({"details": self.details} if self.details else {}),
        }


class SessionNotFoundError(SessionError):
    error_code = "session_not_found"
    default_message = "Session not found."


class SessionStateError(SessionError):
    error_code = "invalid_state"
    default_message = "The session's state does not allow this operation."


class SessionExpiredError(SessionStateError):
    error_code = "session_expired"
    default_message = "The session has expired."


class MessageLimitError(SessionStateError):
    error_code = "message_limit_reached"
    default_message = "The session has reached its max_messages limit."


class ContextConflictError(SessionStateError):
    error_code = "context_version_conflict"
    default_message = "The context changed since the version given."


class ValidationError(SessionError):
    error_code = "invalid"
    default_message = "Invalid input."


class ContentTooLongError(ValidationError):
    error_code = "content_too_long"
    default_message = "The message content is longer than allowed."


class IdempotencyKeyInUseError(SessionStateError):
    error_code = "idempotency_key_in_use"
    default_message = "A request with this Idempotency-Key is still being processed."


class IdempotencyKeyReusedError(ValidationError):
    error_code = "idempotency_key_reused"
    default_message = "This Idempotency-Key was used with a different request."


class StorageError(SessionError):
    error_code = "storage_error"
    default_message = "The session store failed."


class ReplyNotStoredError(StorageError):
    """The database went away after a turn's user message was stored, before its reply was."""

    error_code = "database_unavailable"
    default_message = (
        "The message was stored, but its reply could not be: the database is unavailable."
    )


class ProviderError(SessionError):
    error_code = "provider_error"
    default_message = "The provider failed."

    def __init__(
        self,
        message: str | None = None,
        *args: Any,
        provider: str | None = None,
        retryable: bool = False,
        status_code: int | None = None,
        retry_after: float | None = None,
        **kwargs: Any,
    ) -> None:
        self.provider = provider
        self.retryable = retryable
        self.status_code = status_code
        # Seconds the provider asked us to wait (its Retry-After), when it said.
        self.retry_after = retry_after
        super().__init__(message, *args, **kwargs)


class MiddlewareError(SessionError):
    error_code = "middleware_error"
    default_message = "A message middleware rejected the message."


class RateLimitExceeded(MiddlewareError):
    error_code = "rate_limited"
    default_message = "Too many messages for this session; try again later."

    def __init__(
        self, message: str | None = None, *args: Any, retry_after: float = 0, **kwargs: Any
    ) -> None:
        self.retry_after = retry_after
        super().__init__(message, *args, **kwargs)


class ConfigurationError(SessionError):
    error_code = "configuration_error"
    default_message = "Invalid configuration."


class DatabaseBusyError(StorageError):
    error_code = "busy"
    default_message = "The session is busy (a lock was held too long); try again shortly."
