"""The provider side of a stored session: any model, per-session mock behaviour, the factory."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import pytest
from asgiref.sync import async_to_sync

from sessions_app.exceptions import (
    ConfigurationError,
    ProviderError,
    SessionNotFoundError,
    SessionStateError,
    ValidationError,
)
from sessions_app.manager import SessionManager
from sessions_app.models import Session
from sessions_app.pipeline import CleanupHook
from sessions_app.providers import Provider, registry, reset_providers
from sessions_app.providers.mock import MockProvider
from sessions_app.providers.sessions import (
    IProviderSession,
    MockProviderSession,
    ProviderSession,
    ProviderSessionFactory,
    create_provider_session,
)

MOCK_PATH = "sessions_app.providers.mock.MockProvider"
SECRET = "sk-test-4f2a9c"


@pytest.fixture(autouse=True)
def isolated_registry(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setattr(registry, "_registered", {})
    reset_providers()
    yield
    reset_providers()


@pytest.fixture
def openai_as_mock(db: None, settings: Any) -> None:
    """A provider named "openai" that the mock backs (the adapter itself comes later)."""
    settings.SESSIONS_APP = {
        **settings.SESSIONS_APP,
        "PROVIDERS": {**settings.SESSIONS_APP["PROVIDERS"], "openai": {"BACKEND": MOCK_PATH}},
    }


class Remembering(MockProvider):
    """The mock, remembering what it was asked to clean up."""

    cleaned: list[tuple[str, dict[str, Any]]]

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self.cleaned = []

    def cleanup_resources(self, session_id: str, state: dict[str, Any]) -> None:
        self.cleaned.append((session_id, state))


class Echo(Provider):
    """Not the mock: a plain adapter."""

    def complete(self, request: Any) -> Any:
        raise NotImplementedError


# -- model names ---------------------------------------------------------------------------------


def test_any_model_name_is_accepted_by_an_unrestricted_provider(manager: SessionManager) -> None:
    documented = manager.create_session("dev_user", "mock", "mock-model")
    other = manager.create_session("dev_user", "mock", "gpt-4o-2024-08-06")
    assert (documented.model, other.model) == ("mock-model", "gpt-4o-2024-08-06")
    assert other.send_message("Hi").content == "Mock response to: Hi"
    assert manager.create_session("dev_user", "mock").model == "mock-model"


def test_a_restricted_provider_refuses_other_models(manager: SessionManager, settings: Any) -> None:
    settings.SESSIONS_APP = {
        **settings.SESSIONS_APP,
        "PROVIDERS": {"mock": {"MODELS": ["small", "large"]}},
    }
    assert manager.create_session("u", "mock").model == "small"
    assert manager.create_session("u", "mock", "large").model == "large"
    with pytest.raises(ConfigurationError, match="small, large") as caught:
        manager.create_session("u", "mock", "mock-model")
    assert caught.value.error_code == "unknown_model"


@pytest.mark.parametrize("model", ["m" * 500, 42, "bad\x00name"])
def test_a_model_name_must_be_storable(manager: SessionManager, model: Any) -> None:
    with pytest.raises(ValidationError, match="model"):
        manager.create_session("u", "mock", model)
    assert not Session.objects.exists()


# -- the per-session view ------------------------------------------------------------------------


def test_the_view_fits_the_adapter_class(manager: SessionManager) -> None:
    registry.register_provider("remembering", Remembering)
    registry.register_provider("echo", Echo, DEFAULT_MODEL="e1")
    mock = manager.create_session("u", "mock").provider_session
    subclass = manager.create_session("u", "remembering").provider_session
    plain = manager.create_session("u", "echo").provider_session
    assert type(mock) is type(subclass) is MockProviderSession
    assert type(plain) is ProviderSession
    assert isinstance(plain, IProviderSession)


def test_a_session_pattern_reaches_its_stored_replies_only(manager: SessionManager) -> None:
    mine = manager.create_session("test_user", "mock", "mock-model")
    other = manager.create_session("test_user", "mock", "mock-model")
    assert mine.send_message("Test input").content == "Mock response to: Test input"
    mine.provider_session.set_response_pattern("custom: {input}")
    reply = mine.send_message("Hello")
    assert reply.content == "custom: Hello"
    assert mine.get_message(reply.pk).content == "custom: Hello"
    assert other.send_message("Hello").content == "Mock response to: Hello"
    reopened = manager.get_session(mine.session_id)
    assert reopened is not None and reopened.send_message("again").content == "custom: again"


def test_delay_and_error_rate_are_per_session_and_validated(manager: SessionManager) -> None:
    session = manager.create_session("u", "mock")
    view = session.provider_session
    assert isinstance(view, MockProviderSession)
    view.set_response_delay(5)
    view.set_error_rate("0.0")
    assert session.config.provider_config == {"delay_ms": 5.0, "error_rate": 0.0}
    for invalid in (lambda: view.set_error_rate(1.5), lambda: view.set_response_delay(-1)):
        with pytest.raises(ConfigurationError):
            invalid()
    with pytest.raises(ConfigurationError, match="response_pattern"):
        view.set_response_pattern(None)  # type: ignore[arg-type]
    view.set_error_rate(1)
    with pytest.raises(ProviderError):
        session.send_message("fails")
    assert manager.create_session("u", "mock").send_message("fine").status == "complete"


@pytest.mark.django_db(transaction=True)
def test_setting_the_pattern_from_async_code_without_await() -> None:
    manager = SessionManager("tests")

    async def scenario() -> tuple[str, str | None]:
        session = await manager.acreate_session(user_id="test_user", provider="mock")
        session.provider_session.set_response_pattern("custom: {input}")  # as 004 writes it
        reply = await session.asend_message("Hello")
        return reply.content, session.provider_session_id

    content, native_id = async_to_sync(scenario)()
    assert content == "custom: Hello"
    assert native_id is not None and native_id.startswith("mock-")


def test_provider_session_id_and_metadata_after_a_turn(manager: SessionManager) -> None:
    session = manager.create_session("u", "mock", "mock-model", provider_config={"tone": "dry"})
    assert session.provider_session_id is None
    reply = session.send_message("Hi")
    assert session.provider_session_id == reply.provider_message_id
    metadata = session.get_provider_metadata()
    assert metadata["provider"] == "mock" and metadata["model"] == "mock-model"
    assert metadata["provider_session_id"] == reply.provider_message_id
    assert metadata["state"] == {"last_response_id": reply.provider_message_id}
    assert metadata["provider_config"] == {"tone": "dry"}
    assert metadata["capabilities"]["any_model"] is True
    assert async_to_sync(session.aget_provider_metadata)() == metadata


def test_provider_session_id_comes_from_the_latest_successful_reply(
    manager: SessionManager,
) -> None:
    session = manager.create_session("u", "mock")
    first = session.send_message("one")
    session.provider_session.set_error_rate(1)
    with pytest.raises(ProviderError):
        session.send_message("two")
    assert session.provider_session_id == first.provider_message_id


def test_update_provider_config_merges_and_persists(manager: SessionManager) -> None:
    session = manager.create_session("u", "mock", provider_config={"a": 1, "b": 2})
    session.provider_session.update_provider_config({"b": None, "c": 3})
    stored = Session.objects.get(pk=session.session_id)
    assert stored.config["provider_config"] == {"a": 1, "c": 3}
    with pytest.raises(ValidationError):
        session.provider_session.update_provider_config(["not", "an", "object"])  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError, match="error_rate"):
        session.provider_session.update_provider_config({"error_rate": "often"})
    session.archive()
    with pytest.raises(SessionStateError):
        session.provider_session.update_provider_config({"a": 2})


def test_credentials_are_refused_in_provider_config(manager: SessionManager) -> None:
    session = manager.create_session("u", "mock")
    with pytest.raises(ConfigurationError, match="credentials"):
        session.provider_session.update_provider_config({"API_KEY": SECRET})
    assert SECRET not in str(Session.objects.get(pk=session.session_id).config)
    with pytest.raises(ConfigurationError, match="credentials"):
        manager.create_session("u", "mock", provider_config={"api-key": SECRET})
    with pytest.raises(ConfigurationError, match="credentials"):
        session.update_config({"provider_config": {"password": SECRET}})
    assert all(SECRET not in str(c) for c in Session.objects.values_list("config", flat=True))


def test_cleanup_hands_the_adapter_the_latest_state(manager: SessionManager) -> None:
    adapter = registry.register_provider("remembering", Remembering)
    assert isinstance(adapter, Remembering)
    session = manager.create_session("u", "remembering")
    reply = session.send_message("hi")
    session.provider_session.cleanup_provider_resources()
    async_to_sync(session.provider_session.acleanup_provider_resources)()
    expected = (session.session_id, {"last_response_id": reply.provider_message_id})
    assert adapter.cleaned == [expected, expected]


def test_cleanup_hook_releases_the_state_of_a_hard_deleted_session(
    manager: SessionManager,
) -> None:
    adapter = registry.register_provider("remembering", Remembering)
    assert isinstance(adapter, Remembering)
    manager.add_lifecycle_hook(CleanupHook())
    session = manager.create_session("u", "remembering")
    reply = session.send_message("hi")
    manager.delete_session(session.session_id, hard=True)  # the replies go with the row
    assert adapter.cleaned == [
        (session.session_id, {"last_response_id": reply.provider_message_id})
    ]


def test_the_view_sends_through_the_session(manager: SessionManager) -> None:
    session = manager.create_session("u", "mock")
    reply = session.provider_session.send_message("via the view")
    assert reply.content == "Mock response to: via the view"
    assert [m.role for m in session.get_messages()] == ["user", "assistant"]


# -- the factory and create_provider_session ----------------------------------------------------


@pytest.mark.usefixtures("openai_as_mock")
def test_factory_registers_keyed_providers_and_opens_views(manager: SessionManager) -> None:
    factory = ProviderSessionFactory({"openai": {"api_key": SECRET}, "mock": None}, manager=manager)
    assert {"mock", "openai"} <= set(factory.list_providers())
    info = factory.get_provider_info("openai")
    assert (info["name"], info["any_model"], info["default"]) == ("openai", True, False)
    session = manager.create_session("u", "openai", "gpt-4")
    view = factory.create_provider_session("openai", session.session_id, "gpt-4", {"x": 1})
    assert isinstance(view, MockProviderSession)  # the mock backs "openai" here
    assert view.session.config.provider_config == {"x": 1}
    assert session.send_message("Hello!").content == "Mock response to: Hello!"


def test_factory_view_errors(manager: SessionManager) -> None:
    factory = ProviderSessionFactory(manager=manager)
    session = manager.create_session("u", "mock", "mock-model")
    with pytest.raises(ConfigurationError) as caught:
        factory.create_provider_session("mock", session.session_id, "other-model")
    assert caught.value.error_code == "provider_mismatch"
    with pytest.raises(SessionNotFoundError):
        factory.create_provider_session("mock", "00000000-0000-0000-0000-000000000000", "m")
    with pytest.raises(ConfigurationError) as unknown:
        factory.get_provider_info("nope")
    assert unknown.value.error_code == "unknown_provider"


def test_factory_register_provider_with_default_config(manager: SessionManager) -> None:
    factory = ProviderSessionFactory(manager=manager)
    factory.register_provider("custom", MockProvider, {"response_pattern": "custom: {input}"})
    assert "custom" in factory.list_providers()
    assert manager.create_session("u", "custom").send_message("x").content == "custom: x"
    # The factory's providers are its managers' only: other managers keep the settings'.
    with pytest.raises(ConfigurationError):
        SessionManager().create_session("u", "custom")


@pytest.mark.usefixtures("openai_as_mock")
def test_api_keys_never_show(manager: SessionManager, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    factory = ProviderSessionFactory({"openai": {"api_key": SECRET}})
    adapter = create_provider_session("openai", SECRET, response_pattern="k: {input}")
    assert isinstance(adapter, MockProvider) and adapter.name == "openai"
    assert adapter is not registry.get_provider("openai")  # built, not registered
    session = manager.create_session("u", "openai")
    session.send_message("hi")
    shown = [
        repr(factory),
        repr(adapter),
        repr(registry.get_provider("openai")),
        str(factory.get_provider_info("openai")),
        str(session.get_provider_metadata()),
        str(list(Session.objects.values())),
        caplog.text,
    ]
    assert not [text for text in shown if SECRET in text]


def test_create_provider_session_refuses_an_unknown_provider() -> None:
    with pytest.raises(ConfigurationError) as caught:
        create_provider_session("nope", SECRET)
    assert caught.value.error_code == "unknown_provider"
    assert SECRET not in str(caught.value)
