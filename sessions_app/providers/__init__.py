"""LLM provider adapters. They know nothing of models or the database."""

from sessions_app.providers.base import (
    ChatMessage,
    Completion,
    CompletionRequest,
    Provider,
    StreamEvent,
    TextDelta,
)
from sessions_app.providers.registry import (
    available_providers,
    get_provider,
    register_provider,
    reset_providers,
    unregister_provider,
)

__all__ = [
    "ChatMessage",
    "Completion",
    "CompletionRequest",
    "Provider",
    "StreamEvent",
    "TextDelta",
    "available_providers",
    "get_provider",
    "register_provider",
    "reset_providers",
    "unregister_provider",
]
