"""The module reference (``001_*``): its usage example and its listings, on ``sessions_app.aio``.

The usage example is the document's text with only its import line changed
(``langswarm.core.session`` -> ``sessions_app.aio``) and its top-level ``await`` inside an
``async def``. The listings are checked by name, parameters and async-ness, with a call where
the listing states a behaviour. ``openai`` is a mock-backed provider here (``conftest.py``):
the real adapters are the next issue (11).
"""

# The examples are the documents' text: not reformatted.
# fmt: off

import pytest

from tests.seeds.support import assert_methods, assert_signature, run

pytestmark = pytest.mark.django_db(transaction=True)


def test_usage():
    """001:20-32, the overview's usage."""
    from sessions_app.aio import SessionManager, create_session_manager

    async def example():
        # Create session manager
        manager = create_session_manager(storage="sqlite")

        # Create session
        session = await manager.create_session("user123", "openai", "gpt-4o")

        # Send message
        response = await session.send_message("Hello!")

        # Get conversation history
        messages = await session.get_messages()
        return manager, response, messages

    manager, response, messages = run(example)
    assert isinstance(manager, SessionManager)
    assert [m.role for m in messages] == ["user", "assistant"]
    assert response.content == messages[-1].content


def test_function_listings():
    """001:57-224: every function of the module, with its parameters."""
    from sessions_app import aio

    functions = {
        "configure_development_sessions": ([], False),
        "configure_production_sessions": (["storage_config", "providers"], False),
        "create_provider_session": (["provider", "api_key"], False),
        "create_simple_session": (["user_id", "provider", "model", "api_key", "storage"], True),
        "get_session_manager": ([], False),
        "initialize_default_session_manager": ([], False),
        "session_context": (["session"], False),
        "set_session_manager": (["manager"], False),
    }
    assert_methods(aio, functions)
    # 001:117 lists (storage, storage_config, providers); the API reference (003:627) another
    # order, which test_doc_003 checks.
    assert_signature(
        aio,
        "create_session_manager",
        ["storage", "storage_config", "providers"],
        is_async=False,
        ordered=False,
    )


def test_create_simple_session_takes_an_api_key():
    """001:144: ``create_simple_session(user_id, provider, model, api_key, storage)``."""
    from sessions_app.aio import create_simple_session

    async def example():
        session = await create_simple_session(
            "user123", provider="openai", model="gpt-4o", api_key="sk-test", storage="memory"
        )
        return session, await session.send_message("Hello!")

    session, reply = run(example)
    assert (session.provider, session.model) == ("openai", "gpt-4o")
    assert reply.role == "assistant"


def test_configured_managers():
    """001:59-86: development and production managers are session managers."""
    from sessions_app.aio import (
        SessionManager,
        configure_development_sessions,
        configure_production_sessions,
    )

    assert isinstance(configure_development_sessions(), SessionManager)
    production = configure_production_sessions(
        storage_config={"db_path": "sessions.db"}, providers={"openai": "sk-test"}
    )
    assert isinstance(production, SessionManager)


def test_global_manager_functions():
    """001:175-224: set, get and initialize the global session manager."""
    from sessions_app.aio import (
        SessionManager,
        create_session_manager,
        get_session_manager,
        initialize_default_session_manager,
        set_session_manager,
    )

    previous = get_session_manager()
    try:
        manager = create_session_manager(storage="memory")
        set_session_manager(manager)
        assert get_session_manager() is manager
        set_session_manager(None)
        initialize_default_session_manager()
        assert isinstance(get_session_manager(), SessionManager)
    finally:
        set_session_manager(previous)


def test_create_provider_session_keeps_the_key_secret():
    """001:90-113: ``create_provider_session(provider, api_key, **kwargs)``."""
    from sessions_app.aio import create_provider_session

    provider_session = create_provider_session("mock", "sk-secret-001")
    assert provider_session is not None
    assert "sk-secret-001" not in repr(provider_session)


def test_logging_middleware_listing():
    """001:229-270: ``LoggingMiddleware`` passes messages through, in both directions."""
    from sessions_app.aio import LoggingMiddleware, create_session_manager

    documented = {
        "process_incoming_message": (["session", "message"], True),
        "process_outgoing_message": (["session", "message"], True),
    }
    assert_methods(LoggingMiddleware, documented)

    async def example():
        manager = create_session_manager(storage="memory")
        session = await manager.create_session("user123", "mock", "mock-model")
        reply = await session.send_message("Hello!")
        middleware = LoggingMiddleware()
        incoming = await middleware.process_incoming_message(session, reply)
        outgoing = await middleware.process_outgoing_message(session, reply)
        return reply, incoming, outgoing

    reply, incoming, outgoing = run(example)
    assert incoming.content == outgoing.content == reply.content


def test_metrics_hook_listing():
    """001:274-378: ``MetricsHook`` counts what it sees; ``get_metrics()`` is a dict of ints."""
    from sessions_app.aio import MetricsHook, create_session_manager

    assert_methods(
        MetricsHook,
        {
            "get_metrics": ([], False),
            "on_message_received": (["session", "message"], True),
            "on_message_sent": (["session", "message"], True),
            "on_session_archived": (["session"], True),
            "on_session_created": (["session"], True),
            "on_session_deleted": (["session"], True),
        },
    )
    hook = MetricsHook()
    before = hook.get_metrics()

    async def example():
        manager = create_session_manager(storage="memory")
        manager.add_lifecycle_hook(hook)
        session = await manager.create_session("user123", "mock", "mock-model")
        await session.send_message("Hello!")
        await session.archive()
        await session.delete()

    run(example)
    after = hook.get_metrics()
    assert all(isinstance(v, int) for v in after.values())
    assert sum(after.values()) >= sum(before.values()) + 4  # created, messages, archived, deleted


def test_session_context():
    """001:197-211 and 001:382: ``session_context(session)`` is a ``SessionContext`` manager."""
    from sessions_app.aio import SessionContext, create_session_manager, session_context

    async def example():
        manager = create_session_manager(storage="memory")
        session = await manager.create_session("user123", "mock", "mock-model")
        context = session_context(session)
        assert isinstance(context, SessionContext)
        async with context as entered:
            await entered.send_message("Hello!")
        return session

    session = run(example)
    assert session.status == "active"
