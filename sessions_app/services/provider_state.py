"""A session's provider-native state: what its latest stored reply recorded."""

from __future__ import annotations

from typing import Any

from sessions_app.models import Message, MessageRole, MessageStatus, Session
from sessions_app.providers.base import Provider

# Keys of a provider state that name the provider's own session, most specific first.
SESSION_ID_KEYS = ("conversation_id", "thread_id", "response_id", "last_response_id")


def latest_provider_state(session: Session | Any) -> dict[str, Any]:
    """The non-empty ``provider_metadata["state"]`` of the latest reply that did not fail;
    ``{}`` if none.

    A reply without state (one cut short, say) does not end the provider's conversation, so
    the state before it still holds. ``session`` is a row or its primary key.
    """
    session_id = session.pk if isinstance(session, Session) else session
    metadata = (
        Message.objects.filter(
            session_id=session_id,
            role=MessageRole.ASSISTANT,
            provider_metadata__state__isnull=False,
        )
        .exclude(status=MessageStatus.ERROR)
        .exclude(provider_metadata__state={})
        .order_by("-seq")
        .values_list("provider_metadata", flat=True)
        .first()
    )
    return state_of(metadata)


def state_of(provider_metadata: Any) -> dict[str, Any]:
    """A reply's state from its ``provider_metadata``; ``{}`` when it has none."""
    state = (provider_metadata or {}).get("state")
    return state if isinstance(state, dict) else {}


def keeps_state(provider: Provider) -> bool:
    """Whether the adapter has something to release per session (it overrides the no-op)."""
    return type(provider).cleanup_resources is not Provider.cleanup_resources


def provider_session_id(state: dict[str, Any]) -> str | None:
    """The provider's id of the conversation in ``state``, if it keeps one."""
    return next((str(state[key]) for key in SESSION_ID_KEYS if state.get(key)), None)
