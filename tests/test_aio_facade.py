"""``sessions_app.aio`` and the documents' factories: async names over the one implementation."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from asgiref.sync import async_to_sync
from django.core.cache import caches

from sessions_app import aio
from sessions_app.exceptions import ConfigurationError, SessionError, SessionNotFoundError
from sessions_app.factories import create_session_manager
from sessions_app.global_manager import set_global_session_manager
from sessions_app.manager import SessionManager
from sessions_app.models import Message, Session, SessionStatus

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def no_global_manager():
    yield
    set_global_session_manager(None)


def run(coroutine_function):
    return async_to_sync(coroutine_function)()


def test_a_conversation_through_the_facade_is_stored_by_the_django_api():
    async def scenario():
        manager = aio.create_session_manager(storage="memory")
        session = await manager.create_session("dev_user", "mock", "any-model-name")
        reply = await session.send_message("Test message")
        metrics = await session.get_metrics()
        return session, reply, metrics

    session, reply, metrics = run(scenario)
    assert isinstance(session, aio.ISession)
    assert reply.content == "Mock response to: Test message"
    assert metrics.total_messages == 2
    stored = Session.objects.get(pk=session.session_id)
    assert stored.model == "any-model-name"
    assert session.message_count == stored.message_count == 2
    assert session.status is SessionStatus.ACTIVE


def test_get_session_raises_for_an_unknown_id_in_both_apis():
    manager = SessionManager()
    with pytest.raises(SessionNotFoundError):
        manager.get_session("00000000-0000-0000-0000-000000000000")
    assert manager.find_session("not-a-uuid") is None

    async def scenario():
        await aio.SessionManager().get_session("session_123")

    with pytest.raises(SessionNotFoundError):
        run(scenario)


def test_storage_names_and_objects_all_mean_the_django_database():
    assert aio.StorageFactory.list_backends() == ["memory", "sqlite"]
    storage = aio.StorageFactory.create("sqlite", {"db_path": "x.db", "pool_size": 20})
    assert isinstance(storage, aio.SQLiteSessionStorage)

    async def scenario():
        manager = aio.SessionManager(storage=aio.InMemorySessionStorage())
        session = await manager.create_session("user123", "mock", "mock-model")
        await manager.close()
        return session, await storage.health_check()

    session, health = run(scenario)
    assert Session.objects.filter(pk=session.session_id).exists()
    assert health["checks"]["database"] == "ok"
    with pytest.raises(ConfigurationError, match="Unknown storage backend 'mongo'"):
        create_session_manager(storage="mongo")


def test_cleanup_config_becomes_the_config_new_sessions_start_from():
    manager = create_session_manager(
        storage="sqlite",
        cleanup_config={"archive_after_days": 14, "delete_after_days": 60},
    )
    session = manager.create_session("user123", "mock", "mock-model", {"name": "Mine"})
    assert session.config.auto_archive_after == timedelta(days=14)
    assert session.config.auto_delete_after == timedelta(days=60)
    assert session.config.name == "Mine"
    with pytest.raises(ConfigurationError, match="Unknown cleanup_config keys"):
        create_session_manager(cleanup_config={"archive_after": 3})


def test_a_preset_adds_its_middleware_and_an_unknown_one_is_refused():
    production = create_session_manager(preset="production")
    names = [type(m).__name__ for m in production.pipeline.middleware]
    assert "RateLimitMiddleware" in names
    with pytest.raises(ConfigurationError, match="Unknown preset"):
        create_session_manager(preset="staging")


def test_provider_keys_configure_the_named_provider(settings):
    settings.SESSIONS_APP = {
        **settings.SESSIONS_APP,
        "PROVIDERS": {
            "mock": {"BACKEND": "sessions_app.providers.mock.MockProvider"},
            "openai": {"BACKEND": "sessions_app.providers.mock.MockProvider"},
        },
    }
    manager = create_session_manager(
        providers={"openai": "sk-test-key", "mock": None},
        provider_config={"openai": {"response_pattern": "keyed: {input}"}},
    )
    reply = manager.create_session("u", "openai", "gpt-4o").send_message("Hello")
    assert reply.content == "keyed: Hello"
    # The key and options are this manager's: other managers and the API keep the settings'.
    other = SessionManager().create_session("u", "openai", "gpt-4o").send_message("Hello")
    assert other.content == "Mock response to: Hello"
    with pytest.raises(ConfigurationError):
        create_session_manager(providers={"nope": None})


def test_default_ttl_hours_sets_the_lifetime_of_new_sessions():
    async def scenario():
        manager = aio.SessionManager(sandbox_id="my-app", default_ttl_hours=24)
        session_id = await manager.allocate_session(user_id="alice")
        return session_id, await manager.get_session_info(session_id)

    session_id, info = run(scenario)
    lifetime = info["expires_at"] - info["created_at"]
    assert timedelta(hours=23, minutes=59) < lifetime <= timedelta(hours=24)
    assert Session.objects.get(pk=session_id).sandbox.slug == "my-app"


def test_add_message_stores_history_without_a_provider_call():
    manager = SessionManager()
    session = manager.create_session("user", "mock", "mock-model")
    then = datetime(2024, 1, 1, 12, tzinfo=UTC)
    session.add_message(role="user", content="old question", timestamp=then)
    answer = session.add_message(role="assistant", content="old answer")
    session.refresh()
    assert [m.content for m in session.get_messages()] == ["old question", "old answer"]
    assert session.get_messages()[0].timestamp == then
    assert answer.role == "assistant"
    assert session.record.provider_calls == 0
    assert session.message_count == 2


def test_cleanup_of_archived_and_deleted_sessions():
    manager = SessionManager()
    archived = manager.create_session("user", "mock", "mock-model")
    archived.archive()
    Session.objects.filter(pk=archived.session_id).update(
        last_activity=datetime.now(UTC) - timedelta(days=100)
    )
    assert manager.cleanup_archived_sessions(days=90) == 1
    assert Session.objects.get(pk=archived.session_id).status == SessionStatus.DELETED
    Session.objects.filter(pk=archived.session_id).update(
        deleted_at=datetime.now(UTC) - timedelta(days=400)
    )
    assert manager.cleanup_deleted_sessions(days=365) == 1
    assert not Session.objects.filter(pk=archived.session_id).exists()


def test_optimize_storage_reports_the_tables_it_analysed():
    report = SessionManager().optimize_storage()
    assert report["optimized"] is True
    assert Session._meta.db_table in report["tables"]


def test_session_events_stream_what_the_manager_does():
    async def scenario():
        manager = aio.create_session_manager(storage="memory")
        seen: list[aio.SessionEvent] = []

        events = manager.session_events()  # subscribed from here on

        async def monitor():
            async for event in events:
                seen.append(event)
                if event.type == "session_archived":
                    await events.aclose()
                    return

        watcher = asyncio.create_task(monitor())
        session = await manager.create_session("user123", "mock", "mock-model")
        await session.send_message("Hello there")
        await session.archive()
        await asyncio.wait_for(watcher, 5)
        return session.session_id, seen

    session_id, seen = run(scenario)
    types = [event.type for event in seen]
    assert types == ["session_created", "message_sent", "message_received", "session_archived"]
    assert {event.session_id for event in seen} == {session_id}
    assert seen[1].message_preview == "Hello there"


def test_global_manager_and_get_or_create_session():
    async def scenario():
        with pytest.raises(SessionError, match="No global session manager"):
            await aio.get_or_create_session("user123")
        manager = aio.create_session_manager(storage="memory")
        aio.set_global_session_manager(manager)
        assert aio.get_global_session_manager() is manager
        first = await aio.get_or_create_session("user123")
        again = await aio.get_or_create_session("user123")
        return first, again

    first, again = run(scenario)
    assert first == again
    assert Session.objects.filter(external_user_id="user123").count() == 1


def test_session_context_archives_the_session_when_the_block_fails():
    async def scenario():
        session = await aio.create_simple_session("user123")
        with pytest.raises(RuntimeError):
            async with aio.session_context(session) as inside:
                assert inside is session
                raise RuntimeError("boom")
        return session.session_id

    session_id = run(scenario)
    assert Session.objects.get(pk=session_id).status == SessionStatus.ARCHIVED


def test_key_value_sessions_of_factory_for_env_live_in_the_configured_cache():
    async def scenario():
        session_factory = aio.factory_for_env()
        async with session_factory() as session:
            await session.setex("user:123", 300, "alice")
            stored = await session.get("user:123")
            await session.delete("user:123")
            return stored, await session.get("user:123")

    assert run(scenario) == ("alice", None)
    assert caches["default"].get("sessions_app:kv:user:123") is None


def test_factory_for_env_refuses_a_redis_provider_without_a_redis_cache(monkeypatch, settings):
    settings.CACHES = {
        **settings.CACHES,
        "local": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
    }
    settings.SESSIONS_APP = {**settings.SESSIONS_APP, "CACHE_ALIAS": "local"}
    monkeypatch.setenv("SESSION_PROVIDER", "redis")
    with pytest.raises(ConfigurationError, match="django-redis"):
        aio.factory_for_env()
    monkeypatch.setenv("SESSION_PROVIDER", "dynamo")
    with pytest.raises(ConfigurationError, match="SESSION_PROVIDER"):
        aio.factory_for_env()


def test_the_documents_top_level_names_import_from_both_packages():
    import sessions_app

    documented = {
        "create_session_manager",
        "create_simple_session",
        "get_global_session_manager",
        "set_global_session_manager",
        "get_or_create_session",
        "SessionContext",
        "SessionMessage",
        "SessionMetrics",
        "SessionStatus",
        "MessageRole",
        "ISession",
        "ISessionMiddleware",
        "ISessionLifecycleHook",
    }
    assert documented <= set(sessions_app.__all__) & set(aio.__all__)
    for name in sessions_app.__all__:
        getattr(sessions_app, name)  # each lazy name resolves
    assert sessions_app.SessionMessage is aio.SessionMessage is Message


@pytest.mark.parametrize(
    ("interface", "implementation"),
    [
        (aio.ISession, aio.AsyncConversationSession),
        (aio.ISessionManager, aio.SessionManager),
        (aio.IProviderSession, aio.AsyncProviderSession),
    ],
)
def test_registered_implementations_have_every_interface_member(interface, implementation):
    import inspect

    for name in interface.__abstractmethods__:
        documented = inspect.getattr_static(interface, name)
        ours = inspect.getattr_static(implementation, name, None)
        assert ours is not None, f"{implementation.__name__}.{name} is missing"
        if isinstance(documented, property):
            assert isinstance(ours, property), name
        else:
            assert inspect.iscoroutinefunction(ours) == inspect.iscoroutinefunction(documented), (
                name
            )
