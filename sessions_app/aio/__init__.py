"""The reference documents' async API, under their names: change the import line, keep the code.

``from langswarm.core.session import create_session_manager`` and
``from chuk_sessions import SessionManager`` become ``from sessions_app.aio import ...``.
Everything here is a thin layer over the Django-style API of ``sessions_app``
(whose methods each have an ``a``-prefixed twin); ``docs/porting.md`` maps
every name.
"""

from sessions_app.aio.config import ProviderConfig, SessionManagerConfig, StorageConfig
from sessions_app.aio.factories import (
    configure_development_sessions,
    configure_production_sessions,
    create_provider_session,
    create_session_manager,
    create_simple_session,
    get_global_session_manager,
    get_or_create_session,
    get_session_manager,
    initialize_default_session_manager,
    session_context,
    set_global_session_manager,
    set_session_manager,
)
from sessions_app.aio.manager import SessionManager
from sessions_app.aio.providers import AsyncProviderSession, ProviderSessionFactory
from sessions_app.aio.session import AsyncConversationSession, BaseSession
from sessions_app.events import SessionEvent
from sessions_app.exceptions import (
    ConfigurationError,
    MiddlewareError,
    ProviderError,
    SessionError,
    SessionExpiredError,
    SessionNotFoundError,
    SessionStateError,
    StorageError,
    ValidationError,
)
from sessions_app.interfaces import (
    BaseSessionLifecycleHook,
    BaseSessionMiddleware,
    IProviderSession,
    ISession,
    ISessionLifecycleHook,
    ISessionManager,
    ISessionMiddleware,
    ISessionStorage,
    MessageRole,
    SessionAnalytics,
    SessionConfig,
    SessionContext,
    SessionMessage,
    SessionMetrics,
    SessionStatus,
)
from sessions_app.kv import factory_for_env
from sessions_app.pipeline import (
    AlertingHook,
    AuditLoggingHook,
    CleanupHook,
    LoggingMiddleware,
    MetricsCollectionHook,
    MetricsHook,
    MetricsMiddleware,
    RateLimitMiddleware,
    SecurityMiddleware,
)
from sessions_app.providers.sessions import (
    AnthropicProviderSession,
    MockProviderSession,
    OpenAIProviderSession,
)
from sessions_app.storage import InMemorySessionStorage, SQLiteSessionStorage, StorageFactory

# The guide's custom configuration uses an AnalyticsMiddleware it never defines: ours counts.
AnalyticsMiddleware = MetricsMiddleware

IProviderSession.register(AsyncProviderSession)
ISession.register(AsyncConversationSession)
ISessionManager.register(SessionManager)

__all__ = [
    "AlertingHook",
    "AnalyticsMiddleware",
    "AnthropicProviderSession",
    "AsyncConversationSession",
    "AsyncProviderSession",
    "AuditLoggingHook",
    "BaseSession",
    "BaseSessionLifecycleHook",
    "BaseSessionMiddleware",
    "CleanupHook",
    "ConfigurationError",
    "IProviderSession",
    "ISession",
    "ISessionLifecycleHook",
    "ISessionManager",
    "ISessionMiddleware",
    "ISessionStorage",
    "InMemorySessionStorage",
    "LoggingMiddleware",
    "MessageRole",
    "MetricsCollectionHook",
    "MetricsHook",
    "MetricsMiddleware",
    "MiddlewareError",
    "MockProviderSession",
    "OpenAIProviderSession",
    "ProviderConfig",
    "ProviderError",
    "ProviderSessionFactory",
    "RateLimitMiddleware",
    "SQLiteSessionStorage",
    "SecurityMiddleware",
    "SessionAnalytics",
    "SessionConfig",
    "SessionContext",
    "SessionError",
    "SessionEvent",
    "SessionExpiredError",
    "SessionManager",
    "SessionManagerConfig",
    "SessionMessage",
    "SessionMetrics",
    "SessionNotFoundError",
    "SessionStateError",
    "SessionStatus",
    "StorageConfig",
    "StorageError",
    "StorageFactory",
    "ValidationError",
    "configure_development_sessions",
    "configure_production_sessions",
    "create_provider_session",
    "create_session_manager",
    "create_simple_session",
    "factory_for_env",
    "get_global_session_manager",
    "get_or_create_session",
    "get_session_manager",
    "initialize_default_session_manager",
    "session_context",
    "set_global_session_manager",
    "set_session_manager",
]
