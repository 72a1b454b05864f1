"""The documents' middleware and lifecycle hooks (004 "Middleware System", "Lifecycle Hooks";
003 interfaces; 001 forms), registered on a real manager and run through a mock turn."""

from __future__ import annotations

import logging

import pytest
from asgiref.sync import async_to_sync

from sessions_app.exceptions import ConfigurationError, MiddlewareError, ProviderError
from sessions_app.handle import ConversationSession
from sessions_app.models import Message
from sessions_app.pipeline import (
    AlertingHook,
    AuditLoggingHook,
    BaseSessionLifecycleHook,
    BaseSessionMiddleware,
    CleanupHook,
    ISessionLifecycleHook,
    ISessionMiddleware,
    LoggingMiddleware,
    MessageMiddleware,
    MetricsCollectionHook,
    MetricsHook,
    MetricsMiddleware,
    PipelineMessage,
    RateLimitMiddleware,
    SecurityMiddleware,
)
from sessions_app.services.context import SessionContext

pytestmark = pytest.mark.django_db

SessionMessage = Message


# 004, "Middleware System", as written (FilterMiddleware's filter is the documents' placeholder
# made real, so the test can see it ran).
class DocLoggingMiddleware(ISessionMiddleware):
    """Log all messages for debugging"""

    async def process_message(
        self, session_id: str, message: SessionMessage, context: SessionContext
    ) -> SessionMessage:
        print(f"[{session_id}] {message.role}: {message.content[:50]}...")
        return message


class FilterMiddleware(ISessionMiddleware):
    """Filter sensitive content"""

    async def process_message(
        self, session_id: str, message: SessionMessage, context: SessionContext
    ) -> SessionMessage:
        filtered_content = self.filter_sensitive_data(message.content)
        message.content = filtered_content
        return message

    def filter_sensitive_data(self, content: str) -> str:
        return content.replace("secret", "[filtered]")


# 004, "Lifecycle Hooks": the documents call increment_metric / track_usage without defining
# them; they are defined here.
class DocMetricsHook(ISessionLifecycleHook):
    """Collect session metrics"""

    def __init__(self) -> None:
        self.metrics: dict[str, int] = {}
        self.usage: dict[str, int] = {}

    async def increment_metric(self, name: str) -> None:
        self.metrics[name] = self.metrics.get(name, 0) + 1

    async def track_usage(self, session_id: str, chars: int) -> None:
        self.usage[session_id] = self.usage.get(session_id, 0) + chars

    async def on_session_created(self, session_id: str, user_id: str):  # type: ignore[override]
        print(f"Session created: {session_id} for user {user_id}")
        await self.increment_metric("sessions_created")

    async def on_message_sent(self, session_id: str, message: SessionMessage):
        await self.increment_metric("messages_sent")
        await self.track_usage(session_id, len(message.content))

    async def on_session_archived(self, session_id: str):
        print(f"Session archived: {session_id}")
        await self.increment_metric("sessions_archived")


def test_documents_middleware_runs_in_a_real_turn(manager, capsys):
    manager.add_middleware(DocLoggingMiddleware())
    manager.add_middleware(FilterMiddleware())
    session = manager.create_session("user123", "mock", "mock-model")
    session.send_message("Hello, my secret is 42!")

    stored = session.get_messages(role="user")[0]
    assert stored.content == "Hello, my [filtered] is 42!"
    printed = capsys.readouterr().out
    assert f"[{session.session_id}] user: Hello, my secret is 42!..." in printed
    assert f"[{session.session_id}] assistant: " in printed


def test_documents_hook_sees_the_ids(manager, capsys):
    hook = DocMetricsHook()
    manager.add_lifecycle_hook(hook)
    session = manager.create_session("user123", "mock", "mock-model")
    session.send_message("Hello!")
    session.archive()

    assert hook.metrics == {"sessions_created": 1, "messages_sent": 1, "sessions_archived": 1}
    assert hook.usage == {session.session_id: len("Hello!")}
    printed = capsys.readouterr().out
    assert f"Session created: {session.session_id} for user user123" in printed
    assert f"Session archived: {session.session_id}" in printed


def test_interface_hook_gets_provider_model_and_error(manager):
    seen: list[tuple] = []

    class NotificationHook(BaseSessionLifecycleHook):
        async def on_session_created(self, session_id, user_id, provider, model):
            seen.append(("created", session_id, user_id, provider, model))

        def on_session_error(self, session_id: str, error: Exception) -> None:  # sync is fine
            seen.append(("error", session_id, type(error)))

        async def on_context_updated(self, session_id, context, changes):
            seen.append(("context", context.version, changes))

    manager.add_lifecycle_hook(NotificationHook())
    session = manager.create_session(
        "user123", "mock", "any-model", provider_config={"error_rate": 1.0}
    )
    session.update_context({"topic": "x"})
    with pytest.raises(ProviderError):
        session.send_message("Hello!")
    sid = session.session_id
    assert seen == [
        ("created", sid, "user123", "mock", "any-model"),
        ("context", 1, {"topic": "x"}),
        ("error", sid, ProviderError),
    ]


def test_hook_may_ask_for_the_session_handle(manager):
    handles = []

    class Hook(BaseSessionLifecycleHook):
        async def on_message_received(self, session, message):
            handles.append((session, message))

    manager.add_lifecycle_hook(Hook())
    reply = manager.create_session("u").send_message("hi")
    ((handle, message),) = handles
    assert isinstance(handle, ConversationSession) and handle.session_id == str(reply.session_id)
    assert message.pk == reply.pk


def test_middleware_gets_the_session_context(manager):
    seen = []

    class ContextReader(BaseSessionMiddleware):
        def process_message(self, session_id, message, context):  # sync is fine
            seen.append((session_id, context.session_id, context.user_context))
            return message

    manager.add_middleware(ContextReader())
    session = manager.create_session("u")
    session.update_context({"user_context.language": "fr"})
    session.send_message("hi")
    sid = session.session_id
    assert seen == [(sid, sid, {"language": "fr"})] * 2  # the message and its reply


def test_should_process_false_skips_and_a_new_message_may_be_returned(manager):
    class RepliesOnly(BaseSessionMiddleware):
        def should_process(self, session_id, message, context):
            return message.role == "assistant"

        async def process_message(self, session_id, message, context):
            return SessionMessage(
                session_id=session_id,
                role=message.role,
                content=message.content.upper(),
                metadata={**message.metadata, "shouted": True},
            )

    manager.add_middleware(RepliesOnly(name="shout"))
    session = manager.create_session("u")
    reply = session.send_message("quiet please")
    user = session.get_messages(role="user")[0]
    assert (user.content, user.metadata) == ("quiet please", {})
    assert reply.content == reply.content.upper() and reply.metadata["shouted"] is True


def test_on_error_is_called_and_the_message_is_not_stored(manager):
    errors = []

    class Broken(BaseSessionMiddleware):
        async def process_message(self, session_id, message, context):
            raise RuntimeError("bug")

        async def on_error(self, session_id, error, context):
            errors.append((session_id, type(error), type(context)))

    manager.add_middleware(Broken())
    session = manager.create_session("u")
    with pytest.raises(MiddlewareError, match="Broken failed"):
        session.send_message("hi")
    assert errors == [(session.session_id, RuntimeError, SessionContext)]
    assert not Message.objects.exists()


def test_reference_form_middleware_gets_the_session_handle(manager):
    seen = []

    class Reference:
        async def process_incoming_message(self, session, message):
            seen.append((type(session), session.session_id, message.role))
            return message

        async def process_outgoing_message(self, session, message):
            message.content += " [checked]"
            return message

    manager.add_middleware(Reference())
    session = manager.create_session("u")
    reply = session.send_message("hi")
    assert seen == [(ConversationSession, session.session_id, "user")]
    assert reply.content.endswith(" [checked]")
    assert session.get_messages(role="assistant")[0].content.endswith(" [checked]")


def test_our_subclass_with_only_process_message_is_called(manager):
    class Tagging(MessageMiddleware):
        async def process_message(self, session_id, message, context):
            message.metadata["tagged"] = True
            return message

    manager.add_middleware(Tagging())
    session = manager.create_session("u")
    session.send_message("hi")
    assert session.get_messages(role="user")[0].metadata == {"tagged": True}


class Both(MessageMiddleware):
    def process(self, message: PipelineMessage) -> PipelineMessage:
        return message

    async def process_message(self, session_id, message, context):
        return message


class ReturnsNothing(BaseSessionMiddleware):
    async def process_message(self, session_id, message, context):
        message.content = "changed"


@pytest.mark.parametrize(
    ("middleware", "reason"),
    [
        (object(), "defines none of process(message), process_message(session_id"),
        (BaseSessionMiddleware(), "defines none"),
        (Both(), "defines process() and process_message(); define one"),
    ],
)
def test_what_would_never_be_called_is_refused(manager, middleware, reason):
    with pytest.raises(ConfigurationError, match=reason.replace("(", r"\(").replace(")", r"\)")):
        manager.add_middleware(middleware)


def test_a_middleware_must_return_the_message(manager):
    manager.add_middleware(ReturnsNothing())
    with pytest.raises(MiddlewareError, match="ReturnsNothing returned NoneType"):
        manager.create_session("u").send_message("hi")


def test_hook_registration_refuses_what_cannot_be_called(manager):
    class NoMethods:
        pass

    class UnknownArgument(BaseSessionLifecycleHook):
        async def on_session_created(self, session_id, tenant):  # type: ignore[override]
            pass

    with pytest.raises(ConfigurationError, match="defines none of on_session_created"):
        manager.add_lifecycle_hook(NoMethods())
    with pytest.raises(ConfigurationError, match="defines none"):
        manager.add_lifecycle_hook(BaseSessionLifecycleHook())
    with pytest.raises(ConfigurationError, match="needs 'tenant'"):
        manager.add_lifecycle_hook(UnknownArgument())
    with pytest.raises(ConfigurationError, match="instance of MetricsHook"):
        manager.add_lifecycle_hook(MetricsHook)
    # A class hook given as a function hook of one event would fail on every event.
    for hook in (MetricsHook, MetricsHook()):
        with pytest.raises(ConfigurationError, match="class-based lifecycle hook"):
            manager.add_lifecycle_hook("session_created", hook)


def test_session_error_is_an_alias_of_error(manager, settings):
    errors = []
    manager.add_lifecycle_hook("session_error", lambda event, **data: errors.append(event))
    session = manager.create_session("u", provider_config={"error_rate": 1.0})
    with pytest.raises(ProviderError):
        session.send_message("hi")
    assert errors == ["error"]

    from django.core.management import call_command

    settings.SESSIONS_APP = {
        **settings.SESSIONS_APP,
        "HOOKS": {"session_error": ["tests.support.hooks.record"]},
    }
    call_command("check")  # raises SystemCheckError on an unknown event


# Built-ins with the documents' arguments -------------------------------------------------------


def test_logging_middleware_documents_arguments(manager, caplog):
    manager.add_middleware(LoggingMiddleware(log_level="DEBUG", include_content=True))
    with caplog.at_level(logging.DEBUG, logger="sessions_app.messages"):
        manager.create_session("u").send_message("hello there")
    # The demo settings add a LoggingMiddleware of their own, at INFO.
    debug = [r.getMessage() for r in caplog.records if r.levelno == logging.DEBUG]
    assert len(debug) == 2 and "content='hello there'" in debug[0]


def test_logging_middleware_keeps_content_out_by_default(manager, caplog):
    manager.add_middleware(LoggingMiddleware("INFO"))
    with caplog.at_level(logging.INFO, logger="sessions_app.messages"):
        manager.create_session("u").send_message("hello there")
    assert caplog.records and "hello there" not in caplog.text
    with pytest.raises(ConfigurationError, match="not both"):
        LoggingMiddleware(log_level="INFO", level="DEBUG")


def test_logging_middleware_reference_methods(caplog):
    message = Message(session_id="s1", role="user", content="hi", metadata={})
    with caplog.at_level(logging.INFO, logger="sessions_app.messages"):
        returned = async_to_sync(LoggingMiddleware().process_incoming_message)(None, message)
        async_to_sync(LoggingMiddleware().process_outgoing_message)(None, message)
    assert returned is message
    assert [record.direction for record in caplog.records] == ["incoming", "outgoing"]


def test_security_middleware_filters_and_credit_card(manager):
    manager.add_middleware(SecurityMiddleware(filters=["ssn", "credit_card", "email"]))
    session = manager.create_session("u")
    session.send_message("card 4111 1111 1111 1111, call +44 20 7946 0958")
    stored = session.get_messages(role="user")[0]
    assert "4111" not in stored.content and "+44 20 7946 0958" in stored.content
    assert stored.metadata["redactions"] == {"card": 1}
    with pytest.raises(ConfigurationError, match="iban"):
        SecurityMiddleware(filters=["iban"])
    with pytest.raises(ConfigurationError, match="not both"):
        SecurityMiddleware(["email"], filters=["ssn"])


def test_metrics_middleware_feeds_its_collector(manager):
    class Collector:
        def __init__(self) -> None:
            self.records: list[tuple[str, int, int]] = []

        def record(self, role: str, char_count: int, word_count: int) -> None:
            self.records.append((role, char_count, word_count))

    collector, calls = Collector(), []
    manager.add_middleware(MetricsMiddleware(metrics_collector=collector))
    manager.add_middleware(MetricsMiddleware(lambda *values: calls.append(values)))
    manager.create_session("u").send_message("two words")
    assert collector.records[0] == ("user", 9, 2) and calls[0] == ("user", 9, 2)
    assert [role for role, _, _ in collector.records] == ["user", "assistant"]
    with pytest.raises(ConfigurationError, match="metrics_collector"):
        MetricsMiddleware(metrics_collector="statsd")


def test_rate_limit_messages_per_minute(manager):
    manager.add_middleware(RateLimitMiddleware(messages_per_minute=1))
    session = manager.create_session("u")
    session.send_message("1")
    with pytest.raises(MiddlewareError) as caught:
        session.send_message("2")
    assert caught.value.error_code == "rate_limited" and caught.value.details["period"] == 60
    with pytest.raises(ConfigurationError, match="not both"):
        RateLimitMiddleware(5, messages_per_minute=1)


# Built-in hooks ---------------------------------------------------------------------------------


def test_metrics_hook_counts_a_conversation(manager):
    hook = MetricsHook()
    manager.add_lifecycle_hook(hook)
    session = manager.create_session("u")
    session.send_message("hi")
    session.archive()
    session.delete()
    assert hook.get_metrics() == {
        "sessions_created": 1,
        "sessions_deleted": 1,
        "sessions_archived": 1,
        "messages_sent": 1,
        "messages_received": 1,
    }


def test_metrics_collection_hook_feeds_its_backend(manager):
    class Backend:
        def __init__(self) -> None:
            self.calls: list[tuple] = []

        def increment(self, name, value=1, tags=None):
            self.calls.append((name, value, tags))

    backend = Backend()
    hook = MetricsCollectionHook(metrics_backend=backend)
    manager.add_lifecycle_hook(hook)
    session = manager.create_session("u", "mock", "m1")
    session.update_context({"a": 1})
    assert backend.calls == [
        ("sessions_app.sessions_created", 1, {"provider": "mock", "model": "m1"}),
        ("sessions_app.context_updates", 1, None),
    ]
    assert hook.get_metrics()["context_updates"] == 1
    with pytest.raises(ConfigurationError, match="increment"):
        MetricsCollectionHook(metrics_backend=object())


def test_alerting_hook_warns_and_calls_back(manager, caplog):
    alerts = []
    hook = AlertingHook(
        {"events": ["session_archived"], "callback": lambda event, data: alerts.append(event)}
    )
    manager.add_lifecycle_hook(hook)
    session = manager.create_session("u", provider_config={"error_rate": 1.0})
    with caplog.at_level(logging.WARNING, logger="sessions_app.alerts"):
        with pytest.raises(ProviderError):
            session.send_message("hi")
        session.archive()
    assert alerts == ["error", "session_archived"]
    assert [r.levelno for r in caplog.records if r.name == "sessions_app.alerts"] == [30, 30]
    with pytest.raises(ConfigurationError, match="unknown keys"):
        AlertingHook({"email": "ops@example.com"})
    with pytest.raises(ConfigurationError, match="Unknown lifecycle event"):
        AlertingHook({"events": ["session_exploded"]})


def test_audit_logging_hook_logs_ids_never_content(manager, caplog):
    manager.add_lifecycle_hook(AuditLoggingHook(audit_logger="audit.test"))
    with caplog.at_level(logging.INFO, logger="audit.test"):
        session = manager.create_session("alice")
        session.send_message("my password is hunter2")
    lines = [r.getMessage() for r in caplog.records if r.name == "audit.test"]
    sid = session.session_id
    assert lines == [
        f"audit event=session_created session={sid} user=alice",
        f"audit event=message_sent session={sid} user=alice",
        f"audit event=message_received session={sid} user=alice",
    ]
    assert "hunter2" not in caplog.text


def test_cleanup_hook_releases_provider_state(manager):
    from sessions_app.providers import register_provider, unregister_provider
    from sessions_app.providers.mock import MockProvider

    released = []

    class Stateful(MockProvider):
        def cleanup_resources(self, session_id, state):
            released.append((session_id, state))

    register_provider("stateful", Stateful)
    try:
        manager.add_lifecycle_hook(CleanupHook({"on_archive": False}))
        session = manager.create_session("u", "stateful")
        reply = session.send_message("hi")
        session.archive()
        assert released == []
        session.delete()
    finally:
        unregister_provider("stateful")
    assert released == [(session.session_id, {"last_response_id": reply.provider_message_id})]
    with pytest.raises(ConfigurationError, match="unknown keys"):
        CleanupHook({"interval": 3})


@pytest.mark.django_db(transaction=True)
def test_documents_forms_run_in_async_code_too():
    from sessions_app.manager import SessionManager

    manager = SessionManager("async-docs")
    hook = DocMetricsHook()
    manager.add_middleware(FilterMiddleware())
    manager.add_lifecycle_hook(hook)
    manager.add_lifecycle_hook(CleanupHook())

    async def conversation() -> tuple[str, str]:
        session = await manager.acreate_session("user123", "mock", "mock-model")
        await session.asend_message("a secret")
        stored = (await session.aget_messages(role="user"))[0]
        await session.aarchive()
        return session.session_id, stored.content

    session_id, content = async_to_sync(conversation)()
    assert content == "a [filtered]"
    assert hook.metrics == {"sessions_created": 1, "messages_sent": 1, "sessions_archived": 1}
    assert hook.usage == {session_id: len("a [filtered]")}  # the stored message


def test_a_failing_hook_method_is_logged_and_the_operation_goes_on(manager, caplog):
    class Broken(BaseSessionLifecycleHook):
        async def on_session_created(self, session_id, user_id, provider, model):
            raise RuntimeError("hook bug")

    manager.add_lifecycle_hook(Broken())
    assert manager.create_session("u").status == "active"
    assert "hook bug" in caplog.text


def test_the_session_argument_may_be_another_handle(manager):
    seen = []

    class Reference:
        async def process_incoming_message(self, session, message):
            seen.append(session)
            return message

    manager.pipeline.handle_wrapper = lambda handle: ("wrapped", handle.session_id)
    manager.add_middleware(Reference())
    session = manager.create_session("u")
    session.send_message("hi")
    assert seen == [("wrapped", session.session_id)]
