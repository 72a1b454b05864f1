"""Bad input gets a clear SessionError subclass, never a raw exception, and writes nothing."""

from __future__ import annotations

from datetime import datetime

import pytest
from django.contrib.auth.models import AnonymousUser
from django.core.serializers.json import DjangoJSONEncoder
from django.utils import timezone

from sessions_app import limits
from sessions_app.exceptions import ConfigurationError, MiddlewareError, ValidationError
from sessions_app.manager import SessionManager
from sessions_app.models import Message, Sandbox, Session
from sessions_app.pipeline import MessageMiddleware

pytestmark = pytest.mark.django_db

NAN, INF = float("nan"), float("inf")
LONE = "\ud800"  # a lone surrogate: not UTF-8, refused by PostgreSQL


def _nested(depth: int) -> dict:
    value: dict = {}
    for _ in range(depth):
        value = {"k": value}
    return value


DEEP = _nested(1000)


@pytest.mark.parametrize(
    ("call", "error"),
    [
        (lambda m, s: m.extend_session_ttl(s.session_id, NAN), ValidationError),
        (lambda m, s: m.extend_session_ttl(s.session_id, INF), ValidationError),
        (lambda m, s: m.extend_session_ttl(s.session_id, 1e12), ValidationError),
        (lambda m, s: m.extend_session_ttl(s.session_id, "2"), ValidationError),
        (lambda m, s: m.create_session(ttl_seconds="10"), ValidationError),
        (lambda m, s: m.create_session(ttl_seconds=10**15), ValidationError),
        (lambda m, s: m.allocate_session(ttl_hours="2"), ValidationError),
        (lambda m, s: m.allocate_session(ttl_hours=-1), ValidationError),
        (lambda m, s: m.create_session(session_config="x"), ConfigurationError),
        (lambda m, s: m.create_session(session_config=[1]), ConfigurationError),
        (lambda m, s: m.create_session(user="bob"), ValidationError),
        (lambda m, s: m.create_session(user_id="x" * 256), ValidationError),
        (lambda m, s: m.create_session(metadata={"bad": {1, 2}}), ValidationError),
        (lambda m, s: m.create_session(metadata={"nul": "a\x00b"}), ValidationError),
        (lambda m, s: m.create_session(provider_config={"s": {1}}), ConfigurationError),
        (lambda m, s: s.send_message(42), ValidationError),
        (lambda m, s: s.send_message("a\x00b"), ValidationError),
        (lambda m, s: s.send_message("hi", metadata={"when": {1}}), ValidationError),
        (lambda m, s: s.update_context({"": "x"}), ValidationError),
        (lambda m, s: s.update_context({"a..b": 1}), ValidationError),
        (lambda m, s: s.update_context({"s": {1}}), ValidationError),
        (lambda m, s: s.update_metadata(["x"]), ValidationError),
        (lambda m, s: s.update_config({"tags": "vip"}), ConfigurationError),
        (lambda m, s: s.update_config(["name"]), ConfigurationError),
        (lambda m, s: s.get_messages(limit="5"), ValidationError),
        (lambda m, s: s.get_messages(limit=-1), ValidationError),
        (lambda m, s: s.get_messages(since="yesterday"), ValidationError),
        (lambda m, s: s.get_messages(role="robot"), ValidationError),
        (lambda m, s: m.search_sessions(since="not a date"), ValidationError),
        (lambda m, s: m.search_sessions(limit=-1), ValidationError),
        (lambda m, s: m.get_user_sessions(None), ValidationError),
        (lambda m, s: m.get_user_sessions(AnonymousUser()), ValidationError),
        (lambda m, s: m.cleanup_inactive_sessions(days="30"), ValidationError),
        (lambda m, s: m.get_analytics(start_date="someday"), ValidationError),
        (lambda m, s: m.generate_artifact_key(s.session_id, "../../etc/passwd"), ValidationError),
        (lambda m, s: m.generate_artifact_key("a/b", "x"), ValidationError),
        (lambda m, s: SessionManager("x" * 65), ConfigurationError),
        (lambda m, s: SessionManager("no spaces"), ConfigurationError),
        # Issue 9, finding 5: what PostgreSQL, a timedelta or the stack cannot hold.
        (lambda m, s: m.create_session(metadata={LONE: 1}), ValidationError),
        (lambda m, s: m.create_session(metadata={"k": [LONE]}), ValidationError),
        (lambda m, s: m.create_session(metadata=DEEP), ValidationError),
        (lambda m, s: m.create_session(session_config={"name": LONE}), ConfigurationError),
        (lambda m, s: m.create_session(session_config={"tags": [LONE]}), ConfigurationError),
        (
            lambda m, s: m.create_session(session_config={"custom_settings": DEEP}),
            ConfigurationError,
        ),
        (lambda m, s: m.create_session(session_config={"max_messages": 2**64}), ConfigurationError),
        (
            lambda m, s: s.update_config({"max_messages": limits.MAX_MAX_MESSAGES + 1}),
            ConfigurationError,
        ),
        (lambda m, s: s.update_config({"session_timeout_minutes": 10**10}), ConfigurationError),
        (lambda m, s: s.update_metadata({"k": LONE}), ValidationError),
        (lambda m, s: s.send_message(f"hi {LONE}"), ValidationError),
        (lambda m, s: s.send_message("hi", metadata={LONE: 1}), ValidationError),
        (lambda m, s: s.update_context({LONE: 1}), ValidationError),
        (lambda m, s: s.update_context({"k": DEEP}), ValidationError),
        (lambda m, s: s.update_context({".".join("k" * 2000): 1}), ValidationError),
        (
            lambda m, s: [m.extend_session_ttl(s.session_id, 3153600000) for _ in range(3)],
            ValidationError,
        ),
    ],
)
def test_bad_input_is_a_clear_error(manager, call, error):
    session = manager.create_session()
    before = (Session.objects.count(), Message.objects.count())
    with pytest.raises(error):
        call(manager, session)
    assert (Session.objects.count(), Message.objects.count()) == before


def test_datetimes_in_json_values_are_stored(manager):
    moment = timezone.now()
    session = manager.create_session(metadata={"at": moment})
    session.update_context({"seen": moment})
    session.send_message("hi", metadata={"at": moment})
    stored = DjangoJSONEncoder().default(moment)
    assert Session.objects.get(pk=session.session_id).metadata == {"at": stored}
    assert session.get_context().get("conversation_context.seen") == stored
    assert session.get_messages(role="user")[0].metadata == {"at": stored}


def test_dates_as_iso_strings_are_accepted(manager):
    manager.create_session()
    today = timezone.now().date().isoformat()
    assert manager.get_analytics(start_date=today, end_date=today)["total_sessions"] == 1
    assert len(manager.search_sessions(since=f"{today}T00:00:00Z")) == 1


def test_a_failing_middleware_is_a_middleware_error(manager):
    class Broken(MessageMiddleware):
        def process_incoming(self, message):
            raise ValueError("bug in middleware")

    manager.add_middleware(Broken())
    session = manager.create_session()
    with pytest.raises(MiddlewareError) as caught:
        session.send_message("hi")
    assert caught.value.session_id == session.session_id
    assert not Message.objects.exists()


def test_reads_never_create_a_sandbox(db):
    reader = SessionManager("never-written")
    session_id = "00000000-0000-0000-0000-000000000001"
    assert reader.validate_session(session_id) is False
    assert reader.get_session_info(session_id) is None
    assert reader.find_session(session_id) is None
    assert reader.search_sessions() == []
    assert reader.get_user_sessions("u") == []
    assert reader.get_analytics()["total_sessions"] == 0
    assert reader.cleanup_expired_sessions() == 0
    assert reader.export_sessions() == "[]"
    assert not Sandbox.objects.filter(slug="never-written").exists()


def test_user_ids_are_external_ids_and_tags_may_be_one_string(manager):
    numeric = manager.create_session(user_id=42, session_config={"tags": ["vip"]})
    manager.create_session(session_config={"tags": ["v", "i", "p"]})
    assert [s.session_id for s in manager.get_user_sessions(42)] == [numeric.session_id]
    assert [s.session_id for s in manager.get_user_sessions("42")] == [numeric.session_id]
    assert [s.session_id for s in manager.search_sessions(tags="vip")] == [numeric.session_id]
    assert manager.search_sessions(limit=0) == []


def test_the_key_never_appears_in_reprs(manager):
    from sessions_app.services.sessions import create_session

    sandbox = Sandbox.objects.create(slug="tests")
    created = create_session(sandbox=sandbox, pipeline=manager.pipeline)
    assert created.session_key not in repr(created)
    handle = manager.get_session(created.session.pk)
    assert created.session_key not in repr(handle)


def test_system_prompt_survives_long_histories(manager, settings, spy_requests):
    settings.SESSIONS_APP = {**settings.SESSIONS_APP, "HISTORY_LIMIT": 4}
    session = manager.create_session(provider="spy")
    session.send_system_message("Answer in French.")
    for n in range(5):
        session.send_message(f"question {n}")
    seen = spy_requests
    assert {request.system for request in seen} == {"Answer in French."}
    assert len(seen[-1].messages) == 4 and seen[-1].messages[-1].content == "question 4"


def test_naive_datetimes_are_read_in_the_current_timezone(manager):
    manager.create_session()
    assert manager.search_sessions(since=datetime(2000, 1, 1))


@pytest.mark.parametrize(
    "call",
    [
        lambda m: m.get_user_sessions("u", 5),
        lambda m: m.get_user_sessions("u", "bogus"),
        lambda m: m.cleanup_inactive_sessions(30, 5),
        lambda m: m.search_sessions(tags=5),
        lambda m: m.search_sessions(tags=[1, 2]),
        lambda m: SessionManager(5),
    ],
)
def test_bad_filters_are_clear_errors(manager, call):
    from sessions_app.exceptions import SessionError

    with pytest.raises(SessionError):
        call(manager)


def test_handle_exposes_the_session_fields(manager):
    session = manager.create_session(
        user_id="u", session_config={"name": "N", "description": "D", "tags": ["b", "a"]}
    )
    assert (session.name, session.description, session.tags) == ("N", "D", ["a", "b"])
    assert session.last_activity >= session.created_at
    assert session.user_id == "u" and session.sandbox_id == "tests"


@pytest.mark.parametrize(
    ("field", "value", "code"),
    [
        ("metadata", '{"k": "\\ud800"}', "invalid_text"),
        ("metadata", '{"\\ud800": 1}', "invalid_text"),
        ("metadata", "[" * 500 + "]" * 500, "invalid"),
        ("metadata", "[" * 5000 + "]" * 5000, "json_too_deep"),
        ("metadata", '{"k": ' + "[" * 100 + "]" * 100 + "}", "json_too_deep"),
        ("name", "a\ud800", None),
    ],
)
def test_the_admin_form_refuses_what_the_services_refuse(manager, field, value, code):
    from sessions_app.admin.sessions import SessionChangeForm

    session = manager.create_session()
    record = Session.objects.get(pk=session.session_id)
    data = {"name": "n", "description": "", "metadata": "{}", "expires_at": "", field: value}
    form = SessionChangeForm(data=data, instance=record)
    assert not form.is_valid()
    if code:
        assert [error.code for error in form.errors.as_data()[field]] == [code]
