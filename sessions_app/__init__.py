"""One home for sessions in Django: HTTP, TTL/tenant and conversational-AI sessions.

The main names are importable from the package once Django is set up
(``from sessions_app import SessionManager``); they load lazily so that
listing the app in ``INSTALLED_APPS`` imports nothing else.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

__version__ = "0.1.0"

_MODULE_NAMES = {
    "sessions_app.manager": ["SessionManager"],
    "sessions_app.handle": ["ConversationSession"],
    "sessions_app.session_config": ["SessionConfig"],
    "sessions_app.models": ["MessageRole", "SessionMessage", "SessionStatus"],
    "sessions_app.metrics": ["SessionAnalytics", "SessionMetrics"],
    "sessions_app.services.context": ["SessionContext"],
    "sessions_app.events": ["SessionEvent"],
    "sessions_app.factories": ["create_session_manager", "create_simple_session"],
    "sessions_app.global_manager": [
        "aget_or_create_session",
        "configure_development_sessions",
        "configure_production_sessions",
        "get_global_session_manager",
        "get_or_create_session",
        "get_session_manager",
        "initialize_default_session_manager",
        "set_global_session_manager",
        "set_session_manager",
    ],
    "sessions_app.interfaces": ["IProviderSession", "ISession", "ISessionManager"],
    "sessions_app.storage": [
        "ISessionStorage",
        "InMemorySessionStorage",
        "SQLiteSessionStorage",
        "StorageFactory",
    ],
    "sessions_app.pipeline": [
        "AlertingHook",
        "AuditLoggingHook",
        "BaseSessionLifecycleHook",
        "BaseSessionMiddleware",
        "CleanupHook",
        "ISessionLifecycleHook",
        "ISessionMiddleware",
        "LifecycleEvent",
        "LoggingMiddleware",
        "MessageMiddleware",
        "MetricsCollectionHook",
        "MetricsHook",
        "MetricsMiddleware",
        "RateLimitMiddleware",
        "SecurityMiddleware",
    ],
    "sessions_app.providers.sessions": [
        "AnthropicProviderSession",
        "MockProviderSession",
        "OpenAIProviderSession",
        "ProviderSessionFactory",
        "create_provider_session",
    ],
    "sessions_app.exceptions": [
        "ConfigurationError",
        "MiddlewareError",
        "ProviderError",
        "SessionError",
        "SessionExpiredError",
        "SessionNotFoundError",
        "SessionStateError",
        "StorageError",
        "ValidationError",
    ],
}
_LAZY = {name: module for module, names in _MODULE_NAMES.items() for name in names}
__all__ = sorted(_LAZY)


def __dir__() -> list[str]:
    return [*globals(), *__all__]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'sessions_app' has no attribute {name!r}")
