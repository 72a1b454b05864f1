"""The documents' interfaces: middleware and lifecycle hooks as abstract classes.

``message`` is a :class:`sessions_app.models.Message` (the documents'
``SessionMessage``, unsaved while middleware runs) and ``context`` a
:class:`sessions_app.services.context.SessionContext`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sessions_app.models import Message


class ISessionMiddleware(ABC):
    """Middleware in the documents' form; register it with ``add_middleware``.

    ``process_message`` and ``on_error`` may be ``async def`` or plain methods.
    """

    @abstractmethod
    async def process_message(self, session_id: str, message: Message, context: Any) -> Message:
        """Return the message (the same object or a new one); raise to reject it."""

    async def on_error(self, session_id: str, error: Exception, context: Any) -> None:
        """Called when ``process_message`` raised, before the error travels on."""
        return None


class BaseSessionMiddleware(ISessionMiddleware):
    """``name`` (the class name by default) and ``should_process`` (always True)."""

    def __init__(self, name: str | None = None) -> None:
        self.name = name or type(self).__name__

    async def process_message(self, session_id: str, message: Message, context: Any) -> Message:
        return message

    def should_process(self, session_id: str, message: Message, context: Any) -> bool:
        """Return False to let the message pass this middleware untouched."""
        return True


class ISessionLifecycleHook(ABC):  # noqa: B024 - every method is optional, as documented
    """Lifecycle hooks in the documents' form; register with ``add_lifecycle_hook(hook)``.

    Override the methods you need (async or sync). Their parameters are filled
    by name from ``session_id``, ``user_id``, ``provider``, ``model``,
    ``session`` (a ``ConversationSession``), ``message``, ``context``, ``error``
    and ``changes``; the methods not overridden are never called.
    """

    async def on_session_created(
        self, session_id: str, user_id: str | None, provider: str | None, model: str | None
    ) -> None:
        """After a session was created."""
        return None

    async def on_session_deleted(self, session_id: str) -> None:
        """After a session was deleted (soft or hard; batch deletes too)."""
        return None

    async def on_session_archived(self, session_id: str) -> None:
        """After a session was archived."""
        return None

    async def on_message_sent(self, session_id: str, message: Message) -> None:
        """After a user or system message was stored."""
        return None

    async def on_message_received(self, session_id: str, message: Message) -> None:
        """After a provider's reply was stored."""
        return None

    async def on_context_updated(self, session_id: str, context: Any) -> None:
        """After the context changed."""
        return None

    async def on_session_error(self, session_id: str, error: Exception) -> None:
        """After a provider call or outgoing middleware failed."""
        return None


class BaseSessionLifecycleHook(ISessionLifecycleHook):
    """An :class:`ISessionLifecycleHook` with a ``name`` (the class name by default)."""

    def __init__(self, name: str | None = None) -> None:
        self.name = name or type(self).__name__
