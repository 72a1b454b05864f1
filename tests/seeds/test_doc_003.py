"""The examples and listings of the API reference (``003_*``), run against ``sessions_app.aio``.

Each example is the document's text with only its import line changed
(``langswarm.core.session`` -> ``sessions_app.aio``) and its top-level ``await`` inside an
``async def``. Names an example takes from earlier in the document (``manager``, ``logger``) are
set up first, marked "context". Listings of interfaces and data classes are checked by name,
parameters and async-ness. ``openai`` and ``anthropic`` are mock-backed providers here
(``conftest.py``): the real adapters are the next issue (11).
"""

# The examples are the documents' text: not reformatted.
# fmt: off

import logging
import os
import uuid
from datetime import datetime, timedelta

import pytest
from django.utils import timezone

from tests.seeds.support import assert_methods, assert_properties, assert_signature, run

pytestmark = pytest.mark.django_db(transaction=True)


def test_package_interface_imports():
    """003:21-68, the main package interface."""
    from sessions_app.aio import (  # noqa: F401, I001
        # Session Management
        create_session_manager,
        create_simple_session,
        SessionManager,
        # Session Interfaces
        ISession,
        ISessionManager,
        ISessionStorage,
        IProviderSession,
        ISessionMiddleware,
        ISessionLifecycleHook,
        # Session Data Structures
        SessionMessage,
        SessionContext,
        SessionMetrics,
        SessionConfig,
        SessionStatus,
        # Storage Backends
        InMemorySessionStorage,
        SQLiteSessionStorage,
        StorageFactory,
        # Provider Sessions
        OpenAIProviderSession,
        AnthropicProviderSession,
        MockProviderSession,
        ProviderSessionFactory,
        # Middleware & Hooks
        BaseSessionMiddleware,
        BaseSessionLifecycleHook,
        # Configuration
        SessionManagerConfig,
        StorageConfig,
        ProviderConfig,
        # Exceptions
        SessionError,
        SessionNotFoundError,
        StorageError,
        ProviderError,
    )


def test_interfaces_module_is_the_same():
    """003:10: the ``interfaces`` module holds the same names as the package."""
    from sessions_app import aio, interfaces

    for name in ["ISession", "ISessionMiddleware", "ISessionLifecycleHook", "SessionMessage"]:
        assert getattr(interfaces, name) is getattr(aio, name), name


ISESSION_PROPERTIES = [
    "session_id",
    "user_id",
    "provider",
    "model",
    "status",
    "created_at",
    "last_activity",
    "message_count",
]
ISESSION_METHODS = {
    "send_message": (["content", "role", "metadata"], True),
    "send_system_message": (["content", "metadata"], True),
    "get_messages": (["limit", "role", "since"], True),
    "get_message": (["message_id"], True),
    "clear_messages": ([], True),
    "update_context": (["context"], True),
    "get_context": ([], True),
    "get_metrics": ([], True),
    "archive": ([], True),
    "delete": ([], True),
    "export_conversation": ([], True),
}


def test_isession_listing():
    """003:77-182."""
    from sessions_app.aio import ISession

    assert_properties(ISession, ISESSION_PROPERTIES)
    assert_methods(ISession, ISESSION_METHODS)


def test_a_created_session_is_an_isession():
    """003:198: ``create_session`` returns an ``ISession``, with the listing's members."""
    from sessions_app.aio import ISession, create_session_manager

    async def example():
        manager = create_session_manager(storage="memory")
        return await manager.create_session("user123", "mock", "mock-model")

    session = run(example)
    assert isinstance(session, ISession)
    assert_properties(type(session), ISESSION_PROPERTIES)
    assert_methods(type(session), ISESSION_METHODS)


ISESSION_MANAGER_METHODS = {
    "create_session": (["user_id", "provider", "model", "session_config", "provider_config"], True),
    "get_session": (["session_id"], True),
    "get_user_sessions": (["user_id", "status", "limit", "since"], True),
    "search_sessions": (["user_id", "provider", "status", "tags", "limit"], True),
    "delete_session": (["session_id"], True),
    "archive_session": (["session_id"], True),
    "cleanup_inactive_sessions": (["days", "status"], True),
    "get_analytics": (["start_date", "end_date", "user_id"], True),
    "add_middleware": (["middleware"], False),
    "add_lifecycle_hook": (["hook"], False),
}


def test_isession_manager_listing():
    """003:186-258."""
    from sessions_app.aio import ISessionManager

    assert_methods(ISessionManager, ISESSION_MANAGER_METHODS)


def test_isession_storage_listing():
    """003:262-358: a storage object stands for the Django database; its data methods are the
    manager's and the session's (docs/porting.md lists each), so only these two remain."""
    from sessions_app.aio import ISessionStorage

    assert_methods(ISessionStorage, {"health_check": ([], True), "close": ([], True)})


def test_session_message_listing():
    """003:366-397: the fields, their defaults, and the three methods."""
    from sessions_app.aio import SessionMessage

    stamp = datetime(2024, 1, 1, 12, 0)
    message_id, session_id = str(uuid.uuid4()), str(uuid.uuid4())  # ids are UUIDs here
    message = SessionMessage(
        message_id=message_id, session_id=session_id, role="user", content="Hi", timestamp=stamp
    )
    assert (str(message.message_id), message.role, message.content) == (message_id, "user", "Hi")
    assert str(message.session_id) == session_id
    assert message.timestamp == timezone.make_aware(stamp)  # naive: the current time zone
    assert message.metadata == {}
    # Django columns hold no NULL for these (docs/porting.md); to_dict() says None as documented.
    assert message.provider_message_id == ""
    assert message.to_dict()["provider_message_id"] is None
    assert message.provider_metadata == {}
    assert message.token_count == 0  # input + output tokens
    assert message.processing_time_ms is None
    assert_signature(SessionMessage, "to_dict", [], is_async=False)
    assert_signature(SessionMessage, "from_dict", ["data"], is_async=False)
    assert_signature(SessionMessage, "to_provider_format", ["provider"], is_async=False)
    copy = SessionMessage.from_dict(message.to_dict())
    assert (str(copy.message_id), copy.role, copy.content) == (message_id, "user", "Hi")
    assert isinstance(message.to_provider_format("openai"), dict)


def test_session_context_listing():
    """003:401-427."""
    from sessions_app.aio import SessionContext

    context = SessionContext(session_id="s1")
    assert context.session_id == "s1"
    assert (context.user_context, context.conversation_context) == ({}, {})
    assert (context.provider_context, context.system_context) == ({}, {})
    assert context.version == 1
    assert isinstance(context.last_updated, datetime)
    assert_signature(SessionContext, "update", ["updates"], is_async=False)
    assert_signature(SessionContext, "get", ["key", "default"], is_async=False)
    assert_signature(SessionContext, "set", ["key", "value"], is_async=False)
    assert_signature(SessionContext, "merge", ["other_context"], is_async=False)
    context.set("user_context.language", "fr")
    assert context.get("user_context.language") == "fr"
    assert context.get("user_context.missing", "none") == "none"


def test_session_config_listing():
    """003:431-460: every field as a keyword, timedeltas for the auto-management ages."""
    from sessions_app.aio import SessionConfig

    config = SessionConfig(
        name=None,
        description=None,
        tags=["ml"],
        max_messages=100,
        max_tokens_per_message=500,
        session_timeout_minutes=30,
        auto_archive_after=timedelta(days=7),
        auto_delete_after=timedelta(days=30),
        provider_config={"temperature": 0.5},
        custom_settings={"theme": "dark"},
    )
    assert config.auto_archive_after == timedelta(days=7)
    assert config.auto_delete_after == timedelta(days=30)
    assert config.tags == ["ml"]
    assert config.validate() == []
    merged = config.merge_with(SessionConfig(name="Other"))
    assert isinstance(merged, SessionConfig)
    assert merged.name == "Other"
    assert_signature(SessionConfig, "validate", [], is_async=False)
    assert_signature(SessionConfig, "merge_with", ["other"], is_async=False)


def test_session_metrics_listing():
    """003:464-503: fields with their defaults, and the two methods."""
    from sessions_app.aio import SessionMetrics

    metrics = SessionMetrics(session_id="s1")
    assert metrics.session_id == "s1"
    for name in [
        "total_messages",
        "user_messages",
        "assistant_messages",
        "system_messages",
        "total_tokens",
        "input_tokens",
        "output_tokens",
        "provider_calls",
        "provider_errors",
    ]:
        assert getattr(metrics, name) == 0, name
    assert metrics.session_duration == timedelta(0)
    assert metrics.avg_response_time_ms == 0.0
    assert metrics.total_response_time_ms == 0.0
    assert metrics.first_message_at is None
    assert metrics.last_message_at is None
    assert_signature(SessionMetrics, "update_with_message", ["message"], is_async=False)
    assert_signature(SessionMetrics, "to_dict", [], is_async=False)
    assert metrics.to_dict()["session_id"] == "s1"


def test_session_status_listing():
    """003:507-528."""
    from sessions_app.aio import SessionStatus

    values = {"ACTIVE": "active", "IDLE": "idle", "ARCHIVED": "archived", "DELETED": "deleted"}
    values["ERROR"] = "error"
    for member, value in values.items():
        assert getattr(SessionStatus, member).value == value
    assert SessionStatus.from_string("active") is SessionStatus.ACTIVE
    assert SessionStatus.ACTIVE.is_active()
    assert not SessionStatus.ARCHIVED.is_active()  # "archived (read-only)"
    assert not SessionStatus.DELETED.is_active()
    assert SessionStatus.ACTIVE.can_transition_to(SessionStatus.ARCHIVED)
    assert_signature(SessionStatus, "can_transition_to", ["new_status"], is_async=False)


def test_session_manager_listing():
    """003:536-622."""
    from sessions_app.aio import SessionManager

    assert_signature(
        SessionManager, "__init__", ["storage", "provider_factory", "config"], is_async=False
    )
    methods = {
        **ISESSION_MANAGER_METHODS,
        "optimize_storage": ([], True),
        "export_sessions": (["user_id", "format"], True),
        "health_check": ([], True),
        "close": ([], True),
    }
    assert_methods(SessionManager, methods)


def test_convenience_functions_listing():
    """003:626-668."""
    from sessions_app import aio

    assert_signature(
        aio,
        "create_session_manager",
        [
            "storage", "providers", "storage_config", "provider_config", "middleware", "hooks",
            "preset",
        ],
        is_async=False,
    )
    assert_signature(
        aio, "create_simple_session", ["user_id", "provider", "model", "storage"], is_async=True
    )


def test_create_simple_session_defaults_to_the_mock():
    """003:651-667: ``create_simple_session("u")`` is a ready-to-use mock session."""
    from sessions_app.aio import create_simple_session

    async def example():
        session = await create_simple_session("user123")
        reply = await session.send_message("Hello")
        return session, reply

    session, reply = run(example)
    assert (session.provider, session.model) == ("mock", "mock-model")
    assert reply.role == "assistant"


def test_storage_backends_listing():
    """003:676-799: the classes take the documented arguments, and all mean the Django
    database (no file is created)."""
    from sessions_app.aio import InMemorySessionStorage, SQLiteSessionStorage, StorageFactory

    assert_signature(InMemorySessionStorage, "__init__", ["max_sessions"], is_async=False)
    assert_signature(
        SQLiteSessionStorage,
        "__init__",
        ["db_path", "pool_size", "max_overflow", "pool_timeout", "enable_wal", "auto_vacuum"],
        is_async=False,
    )
    for storage in [InMemorySessionStorage, SQLiteSessionStorage]:
        assert_methods(storage, {"health_check": ([], True), "close": ([], True)})
    assert_methods(
        StorageFactory,
        {
            "create": (["backend", "config"], False),
            "register_backend": (["name", "backend_class", "config_schema"], False),
            "list_backends": ([], False),
        },
    )
    assert {"memory", "sqlite"} <= set(StorageFactory.list_backends())
    storages = [
        InMemorySessionStorage(max_sessions=10),
        SQLiteSessionStorage(db_path="sessions.db", pool_size=5, enable_wal=False),
        StorageFactory.create("sqlite", {"db_path": "other.db"}),
    ]

    async def example():
        reports = [await storage.health_check() for storage in storages]
        for storage in storages:
            await storage.close()
        return reports

    assert all(isinstance(report, dict) for report in run(example))
    assert not os.listdir(".")


IPROVIDER_SESSION_METHODS = {
    "send_message": (["content", "role", "metadata"], True),
    "get_provider_metadata": ([], True),
    "update_provider_config": (["config"], True),
    "cleanup_provider_resources": ([], True),
}


def test_iprovider_session_listing():
    """003:807-836."""
    from sessions_app.aio import IProviderSession

    assert_properties(IProviderSession, ["provider_session_id"])
    assert_methods(IProviderSession, IPROVIDER_SESSION_METHODS)


def _provider_session(provider, model):
    from sessions_app.aio import create_session_manager

    async def example():
        manager = create_session_manager(storage="memory")
        return (await manager.create_session("user123", provider, model)).provider_session

    return run(example)


def test_openai_provider_session_listing():
    """003:840-889: the name, and its ``thread_id``. Provider sessions are views of a stored
    session (``session.provider_session``), not built from an API key; the thread methods
    come with the OpenAI adapter, issue 11 (docs/porting.md)."""
    from sessions_app.aio import OpenAIProviderSession

    assert_properties(OpenAIProviderSession, ["thread_id", "provider_session_id"])


def test_anthropic_provider_session_listing():
    """003:893-929: the name; its conversation methods come with the adapter, issue 11."""
    from sessions_app.aio import AnthropicProviderSession

    assert_properties(AnthropicProviderSession, ["provider_session_id"])


def test_a_session_s_provider_session_is_an_iprovider_session():
    """003:807-836 on what ``session.provider_session`` is, for each documented provider."""
    from sessions_app.aio import IProviderSession

    for provider, model in [("openai", "gpt-4"), ("anthropic", "claude-3"), ("mock", "mock-model")]:
        provider_session = _provider_session(provider, model)
        assert isinstance(provider_session, IProviderSession), provider
        assert_methods(type(provider_session), IPROVIDER_SESSION_METHODS)


def test_mock_provider_session_listing():
    """003:933-971: a mock-backed session's provider session has the three setters."""
    from sessions_app.aio import MockProviderSession

    mock_methods = {
        "set_response_pattern": (["pattern"], False),
        "set_response_delay": (["delay_ms"], False),
        "set_error_rate": (["error_rate"], False),
    }
    assert_methods(MockProviderSession, mock_methods)
    assert_methods(_provider_session("mock", "mock-model"), mock_methods)


def test_provider_session_factory_listing():
    """003:975-1013."""
    from sessions_app.aio import ProviderSessionFactory

    assert_signature(ProviderSessionFactory, "__init__", ["provider_configs"], is_async=False)
    assert_methods(
        ProviderSessionFactory,
        {
            "create_provider_session": (["provider", "session_id", "model", "config"], True),
            "register_provider": (["name", "provider_class", "default_config"], False),
            "list_providers": ([], False),
            "get_provider_info": (["provider"], False),
        },
    )
    factory = ProviderSessionFactory({"mock": {}})
    assert "mock" in factory.list_providers()
    assert isinstance(factory.get_provider_info("mock"), dict)


def test_session_middleware_listings():
    """003:1021-1079: the interface and the base middleware."""
    from sessions_app.aio import BaseSessionMiddleware, ISessionMiddleware

    documented = ["session_id", "message", "context"]
    assert_methods(
        ISessionMiddleware,
        {
            "process_message": (documented, True),
            "on_error": (["session_id", "error", "context"], True),
        },
    )
    assert_methods(
        BaseSessionMiddleware,
        {"process_message": (documented, True), "should_process": (documented, False)},
    )
    assert BaseSessionMiddleware().name == "BaseSessionMiddleware"
    assert BaseSessionMiddleware(name="mine").name == "mine"


def test_built_in_middleware_listing():
    """003:1083-1112: the built-ins take the documented arguments."""
    from sessions_app.aio import (
        LoggingMiddleware,
        MetricsMiddleware,
        RateLimitMiddleware,
        SecurityMiddleware,
    )

    logging_middleware = LoggingMiddleware(log_level="DEBUG", include_content=False)
    assert (logging_middleware.log_level, logging_middleware.include_content) == ("DEBUG", False)
    assert logging_middleware.name == "LoggingMiddleware"
    # The documented three, in order; ours also redacts phones by default (docs/porting.md).
    assert SecurityMiddleware().filters[:3] == ["ssn", "credit_card", "email"]
    assert SecurityMiddleware(filters=["email"]).filters == ["email"]
    class Collector:  # the protocol MetricsMiddleware feeds (docs/porting.md)
        def record(self, role, char_count, word_count):
            pass

    collector = Collector()
    assert MetricsMiddleware(metrics_collector=collector).metrics_collector is collector
    assert RateLimitMiddleware().messages_per_minute == 60
    assert RateLimitMiddleware(messages_per_minute=10).messages_per_minute == 10


HOOK_METHODS = {
    "on_session_created": (["session_id", "user_id", "provider", "model"], True),
    "on_session_deleted": (["session_id"], True),
    "on_session_archived": (["session_id"], True),
    "on_message_sent": (["session_id", "message"], True),
    "on_message_received": (["session_id", "message"], True),
    "on_context_updated": (["session_id", "context"], True),
    "on_session_error": (["session_id", "error"], True),
}


def test_lifecycle_hook_listing():
    """003:1120-1173: every method is a no-op coroutine, so a hook overrides only some."""
    from sessions_app.aio import BaseSessionLifecycleHook, ISessionLifecycleHook

    assert_methods(ISessionLifecycleHook, HOOK_METHODS)
    assert_methods(BaseSessionLifecycleHook, HOOK_METHODS)

    class OnlyCreated(ISessionLifecycleHook):
        async def on_session_created(self, session_id, user_id, provider, model):
            pass

    async def example():
        return await OnlyCreated().on_session_deleted("s1")

    assert run(example) is None


def test_built_in_hooks_listing():
    """003:1177-1201: the built-in hooks take the documented arguments."""
    from sessions_app.aio import AlertingHook, AuditLoggingHook, CleanupHook, MetricsCollectionHook

    class Backend:  # the protocol MetricsCollectionHook feeds (docs/porting.md)
        def increment(self, name, value=1, tags=None):
            pass

    backend, audit = Backend(), logging.getLogger("audit")
    assert MetricsCollectionHook(metrics_backend=backend).metrics_backend is backend
    assert AlertingHook(alert_config={"events": []}).alert_config == {"events": []}
    assert AuditLoggingHook(audit_logger=audit).audit_logger is audit
    assert CleanupHook(cleanup_config={}).cleanup_config == {}
    for hook in [MetricsCollectionHook, AlertingHook, AuditLoggingHook, CleanupHook]:
        hook()


def test_exceptions_listing():
    """003:1209-1241."""
    from sessions_app.aio import (
        ConfigurationError,
        MiddlewareError,
        ProviderError,
        SessionError,
        SessionNotFoundError,
        SessionStateError,
        StorageError,
    )

    error = SessionError("boom", "s1", "code", {"k": 1})
    assert (str(error), error.session_id, error.error_code, error.context) == (
        "boom",
        "s1",
        "code",
        {"k": 1},
    )
    assert SessionError("boom").context == {}
    for subclass in [
        SessionNotFoundError,
        SessionStateError,
        StorageError,
        ProviderError,
        MiddlewareError,
        ConfigurationError,
    ]:
        assert issubclass(subclass, SessionError)
        assert subclass("boom", "s1").session_id == "s1"


def test_usage_with_error_handling():
    """003:1243-1254: an unknown id raises SessionNotFoundError, and the fallback runs."""
    from sessions_app.aio import (
        ProviderError,
        SessionError,
        SessionNotFoundError,
        create_session_manager,
    )

    async def example():
        manager = create_session_manager(storage="memory")  # context
        logger = logging.getLogger(__name__)  # context
        # Usage with error handling
        try:
            session = await manager.get_session("session_123")
        except SessionNotFoundError:
            session = await manager.create_session("user123", "openai", "gpt-4")
        except ProviderError as e:
            logger.error(f"Provider error: {e}")
            # Fall back to mock provider
            session = await manager.create_session("user123", "mock", "mock-model")
        except SessionError as e:
            logger.error(f"Session error: {e}")
            raise
        return session

    session = run(example)
    assert (session.user_id, session.provider, session.model) == ("user123", "openai", "gpt-4")


def test_global_session_management():
    """003:1263-1297: the global manager and ``get_or_create_session``."""
    from sessions_app.aio import (
        SessionError,
        create_session_manager,
        get_global_session_manager,
        get_or_create_session,
        set_global_session_manager,
    )

    async def example():
        manager = create_session_manager(storage="memory")
        set_global_session_manager(manager)
        assert get_global_session_manager() is manager
        first = await get_or_create_session("user123")
        again = await get_or_create_session("user123")
        return first, again

    previous = get_global_session_manager()
    try:
        first, again = run(example)
        set_global_session_manager(None)

        async def without_a_manager():
            return await get_or_create_session("user123")

        with pytest.raises(SessionError):
            run(without_a_manager)
    finally:
        set_global_session_manager(previous)
    assert (first.provider, first.model) == ("mock", "mock-model")
    assert again.session_id == first.session_id


def test_session_context_manager():
    """003:1299-1314: an error inside ``async with SessionContext(session)`` archives it."""
    from sessions_app.aio import SessionContext, create_session_manager

    async def example():
        manager = create_session_manager(storage="memory")
        kept = await manager.create_session("user123", "mock", "mock-model")
        failed = await manager.create_session("user123", "mock", "mock-model")
        async with SessionContext(kept) as session:
            assert session is kept
        with pytest.raises(RuntimeError):
            async with SessionContext(failed):
                raise RuntimeError("boom")
        kept = await manager.get_session(kept.session_id)
        failed = await manager.get_session(failed.session_id)
        return kept.status, failed.status

    assert run(example) == ("active", "archived")
