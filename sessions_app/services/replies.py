"""A turn awaiting its reply, and how it ends: the reply stored, partly stored, or failed."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from django.db.models import F
from django.db.models.functions import Greatest

from sessions_app.exceptions import ProviderError, ReplyNotStoredError, SessionError
from sessions_app.models import Message, MessageRole, MessageStatus, Session
from sessions_app.pipeline import LifecycleEvent, Pipeline, PipelineMessage
from sessions_app.providers import Completion, CompletionRequest, Provider
from sessions_app.services import reconnect, sql
from sessions_app.services.messages import store_message


@dataclass
class Turn:
    """A stored user message and what is needed to get and store its reply."""

    session: Session
    message: Message
    provider: Provider
    request: CompletionRequest
    pipeline: Pipeline
    started: float = field(default_factory=time.monotonic)
    # When the first streamed text arrived (time.monotonic()); None until then.
    first_text_at: float | None = None
    # What the context budget left out of the request, for the reply's metadata.
    context: dict[str, Any] | None = None

    def received_text(self) -> None:
        if self.first_text_at is None:
            self.first_text_at = time.monotonic()

    @property
    def time_to_first_token_ms(self) -> int | None:
        if self.first_text_at is None:
            return None
        return int((self.first_text_at - self.started) * 1000)


@contextmanager
def _database_needed(turn: Turn) -> Iterator[None]:
    """Turns the loss of the database (after one reconnect) into ``ReplyNotStoredError``."""
    try:
        yield
    except reconnect.DISCONNECTED as exc:
        if not reconnect.lost(sql.connection_for(Session), exc):
            raise  # the statement failed, not the database (e.g. a timeout)
        raise ReplyNotStoredError(
            session_id=turn.session.pk, details={"message_id": str(turn.message.pk)}
        ) from exc


def _store_reply(
    turn: Turn,
    completion: Completion,
    *,
    content: str,
    metadata: dict[str, Any],
    status: str,
    failed: bool = False,
    priced: bool = True,
) -> Message:
    # A reply cut short never got its usage, yet the provider billed what it generated: its
    # cost is unknown, not the 0 its empty usage would price at.
    cost = turn.provider.price(completion, turn.request.model) if priced else None
    with _database_needed(turn):
        return store_message(
            turn.session,
            role=MessageRole.ASSISTANT,
            content=content,
            metadata=metadata,
            reserve=None,
            pending=-1,
            status=status,
            completion=completion,
            processing_time_ms=int((time.monotonic() - turn.started) * 1000),
            cost=cost,
            time_to_first_token_ms=turn.time_to_first_token_ms,
            provider_error=failed,
        )


def _reply_metadata(turn: Turn, completion: Completion) -> dict[str, Any]:
    metadata = {"finish_reason": completion.finish_reason, **completion.metadata}
    if turn.context is not None:
        metadata["context"] = turn.context
    return metadata


def finish_turn(
    turn: Turn,
    completion: Completion,
    *,
    status: str = MessageStatus.COMPLETE,
    error: ProviderError | None = None,
    priced: bool = True,
) -> Message:
    """Run outgoing middleware on the reply and store it with usage and cost.

    The reply completes a turn that was accepted, so it is stored even if the
    session was archived or expired while the provider worked. If outgoing
    middleware rejects it, an empty reply with status ``error`` records the
    call's usage and frees its slot, and the error is raised. A lost database
    connection is reopened once; if the database is gone, the reply is lost
    and ``ReplyNotStoredError`` says the user message was stored. With ``error`` (the
    provider failed mid-stream) the call counts as failed and the error hook fires instead
    of the message hook. ``priced=False``: the reply's usage never arrived, its cost is unknown.
    """
    metadata = _reply_metadata(turn, completion)
    if error is not None:
        metadata["error"] = error.error_code
    try:
        outgoing = turn.pipeline.run(
            PipelineMessage(
                session_id=str(turn.session.pk),
                role=MessageRole.ASSISTANT,
                content=completion.text,
                direction="outgoing",
                metadata=metadata,
            ),
            turn.session,
        )
    except SessionError as exc:
        metadata["error"] = exc.error_code
        _store_reply(
            turn,
            completion,
            content="",
            metadata=metadata,
            status=MessageStatus.ERROR,
            failed=error is not None,
            priced=priced,
        )
        exc.session_id = str(turn.session.pk)
        turn.pipeline.fire(
            LifecycleEvent.ERROR, session_id=str(turn.session.pk), session=turn.session, error=exc
        )
        raise
    reply = _store_reply(
        turn,
        completion,
        content=outgoing.content,
        metadata=outgoing.metadata,
        status=status,
        failed=error is not None,
        priced=priced,
    )
    if error is not None:
        error.details = {**error.details, "reply_id": str(reply.pk)}
        turn.pipeline.fire(
            LifecycleEvent.ERROR, session_id=str(turn.session.pk), session=turn.session, error=error
        )
        return reply
    turn.pipeline.fire(
        LifecycleEvent.MESSAGE_RECEIVED,
        session_id=str(turn.session.pk),
        session=turn.session,
        message=reply,
    )
    return reply


def finish_partially(turn: Turn, parts: list[str]) -> Message:
    """Store what was generated before the consumer went away as an ``incomplete`` reply.

    With no parts (gone before the reply began) the reply is empty; either way
    its slot is freed.
    """
    partial = Completion(text="".join(parts), model=turn.request.model, finish_reason="incomplete")
    return finish_turn(turn, partial, status=MessageStatus.INCOMPLETE, priced=False)


def interrupt_turn(turn: Turn, parts: list[str], exc: Exception) -> ProviderError:
    """Store the text a stream gave before it broke as an ``incomplete`` reply, count the
    failed call, fire the error hook; the error (to raise) names the reply."""
    error = provider_error(turn, exc)
    partial = Completion(
        text="".join(parts),
        model=turn.request.model,
        finish_reason="error",
        # What the provider already keeps of this turn (e.g. a conversation it opened).
        provider_state=error.context.get("provider_state") or {},
    )
    finish_turn(turn, partial, status=MessageStatus.INCOMPLETE, error=error, priced=False)
    return error


def provider_error(turn: Turn, exc: Exception) -> ProviderError:
    """``exc`` as the ``ProviderError`` of this turn's session."""
    error = (
        exc
        if isinstance(exc, ProviderError)
        else ProviderError(
            f"Provider {turn.provider.name!r} failed: {type(exc).__name__}",
            provider=turn.provider.name,
        )
    )
    error.session_id = str(turn.session.pk)
    return error


def fail_turn(turn: Turn, exc: Exception) -> ProviderError:
    """Count the failed call, free the reply's slot, fire the error hook."""
    error = provider_error(turn, exc)
    counted = Session.objects.filter(pk=turn.session.pk)
    with _database_needed(turn):
        reconnect.once_more_if_disconnected(
            lambda: counted.update(
                provider_calls=F("provider_calls") + 1,
                provider_errors=F("provider_errors") + 1,
                pending_replies=Greatest(F("pending_replies") - 1, 0),
            ),
            sql.connection_for(Session),
        )
    turn.pipeline.fire(
        LifecycleEvent.ERROR, session_id=str(turn.session.pk), session=turn.session, error=error
    )
    return error


def no_completion(turn: Turn) -> ProviderError:
    """The error of a provider stream that ended without its ``Completion``."""
    return ProviderError(
        "The provider's stream ended without a reply.",
        provider=turn.provider.name,
        error_code="stream_interrupted",
    )
