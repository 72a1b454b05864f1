"""The three accepted middleware forms, each adapted to one step of ``Pipeline.run``.

- ours: ``process(PipelineMessage)``, or ``process_incoming`` / ``process_outgoing``
  overridden on a :class:`MessageMiddleware`;
- the documents' (003/004): ``process_message(session_id, message, context)``,
  optional ``should_process`` and ``on_error``;
- the reference's (001): ``process_incoming_message(session, message)`` /
  ``process_outgoing_message(session, message)``.

An object must implement exactly one form: a method of another form would
silently never be called, so such an object is refused, as is one with none.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any, Protocol

from sessions_app.exceptions import ConfigurationError
from sessions_app.pipeline.base import MessageMiddleware, PipelineMessage
from sessions_app.pipeline.calling import defines, resolve
from sessions_app.pipeline.interfaces import BaseSessionMiddleware, ISessionMiddleware
from sessions_app.pipeline.messages import as_message, take_changes

if TYPE_CHECKING:
    from sessions_app.models import Session
    from sessions_app.pipeline.core import Pipeline

logger = logging.getLogger("sessions_app.pipeline")

_BASES: tuple[type, ...] = (MessageMiddleware, BaseSessionMiddleware, ISessionMiddleware, object)
OURS = ("process", "process_incoming", "process_outgoing")
DOCUMENTS = ("process_message",)
REFERENCE = ("process_incoming_message", "process_outgoing_message")


class RunState:
    """What one ``Pipeline.run`` loads for middleware, each at most once and only on demand."""

    def __init__(self, pipeline: Pipeline, session_id: str, session: Session | None) -> None:
        self.pipeline = pipeline
        self.session_id = session_id
        self._session = session
        self._context: Any = None
        self._handle: Any = None

    def session(self) -> Session:
        if self._session is None:
            from sessions_app.models import Session

            self._session = Session.objects.get(pk=self.session_id)
        return self._session

    def context(self) -> Any:
        if self._context is None:
            from sessions_app.services.context import get_context

            self._context = get_context(self.session())
        return self._context

    def handle(self) -> Any:
        if self._handle is None:
            self._handle = self.pipeline.handle_for(self.session())
        return self._handle


class Step(Protocol):
    middleware: Any

    def run(self, message: PipelineMessage, state: RunState) -> PipelineMessage: ...


def middleware_name(middleware: Any) -> str:
    return str(getattr(middleware, "name", None) or type(middleware).__name__)


class OurStep:
    def __init__(self, middleware: Any) -> None:
        self.middleware = middleware

    def run(self, message: PipelineMessage, state: RunState) -> PipelineMessage:
        result: PipelineMessage = self.middleware.process(message)
        return result


class DocumentStep:
    """``process_message(session_id, message, context)``; ``context`` loaded once per run."""

    def __init__(self, middleware: Any) -> None:
        self.middleware = middleware
        self.filters = defines(middleware, "should_process", _BASES)
        self.reports = defines(middleware, "on_error", _BASES)

    def run(self, message: PipelineMessage, state: RunState) -> PipelineMessage:
        context = state.context()
        document = as_message(message)
        if self.filters and not resolve(
            self.middleware.should_process(state.session_id, document, context)
        ):
            return message
        try:
            result = resolve(self.middleware.process_message(state.session_id, document, context))
        except Exception as exc:
            if self.reports:
                self._report(state.session_id, exc, context)
            raise
        return take_changes(message, result, middleware_name(self.middleware))

    def _report(self, session_id: str, error: Exception, context: Any) -> None:
        try:
            resolve(self.middleware.on_error(session_id, error, context))
        except Exception:
            # The middleware's own error is the one that matters; this one is only logged.
            logger.exception("on_error of %s failed", middleware_name(self.middleware))


class ReferenceStep:
    """``process_incoming_message(session, message)`` / ``process_outgoing_message``."""

    def __init__(self, middleware: Any) -> None:
        self.middleware = middleware

    def run(self, message: PipelineMessage, state: RunState) -> PipelineMessage:
        method = getattr(self.middleware, f"process_{message.direction}_message", None)
        if method is None:
            return message
        result = resolve(method(state.handle(), as_message(message)))
        return take_changes(message, result, middleware_name(self.middleware))


def adapt(middleware: Any) -> Step:
    """The step that calls ``middleware`` in the one form it implements."""
    forms = {
        "process()": any(defines(middleware, name, _BASES) for name in OURS),
        "process_message()": defines(middleware, "process_message", _BASES),
        "process_incoming_message()/process_outgoing_message()": any(
            defines(middleware, name, _BASES) for name in REFERENCE
        ),
    }
    found = [form for form, present in forms.items() if present]
    if not found and isinstance(middleware, MessageMiddleware):
        found = ["process()"]  # a bare MessageMiddleware: its process() passes messages on
    if len(found) != 1:
        what = "defines none" if not found else f"defines {' and '.join(found)}; define one"
        raise ConfigurationError(
            f"{middleware!r} is not message middleware: it {what} of process(message), "
            "process_message(session_id, message, context), or process_incoming_message("
            "session, message) / process_outgoing_message(session, message)."
        )
    if found[0] == "process()":
        return OurStep(middleware)
    if found[0] == "process_message()":
        return DocumentStep(middleware)
    return ReferenceStep(middleware)
