"""Session context: dot-notation, merge-patch, versions, conflicts."""

from __future__ import annotations

import pytest

from sessions_app.exceptions import ContextConflictError, ValidationError

pytestmark = pytest.mark.django_db


def test_new_context_is_empty_at_version_zero(conversation):
    context = conversation.get_context()
    assert context.version == 0
    assert context.to_dict()["user_context"] == {} and context.get("user_context.x", "d") == "d"


def test_deep_merge_and_dot_notation(conversation):
    conversation.update_context({"user_context": {"prefs": {"lang": "en", "theme": "dark"}}})
    context = conversation.update_context(
        {"user_context": {"prefs": {"lang": "fr"}}, "system_context.mode": "strict"}
    )
    assert context.user_context == {"prefs": {"lang": "fr", "theme": "dark"}}
    assert context.get("system_context.mode") == "strict"
    assert context.version == 2
    assert conversation.get_context() == context


def test_none_removes_a_key(conversation):
    conversation.update_context({"user_context": {"a": 1, "b": 2}})
    assert conversation.update_context({"user_context.a": None}).user_context == {"b": 2}


def test_keys_outside_sections_go_to_the_conversation(conversation):
    context = conversation.update_context({"topic": "billing"})
    assert context.conversation_context == {"topic": "billing"}


def test_set_context_value(conversation):
    context = conversation.set_context_value("provider_context.temperature", 0.2)
    assert context.get("provider_context.temperature") == 0.2 and context.version == 1


def test_every_change_raises_the_version(conversation):
    versions = [conversation.update_context({"n": i}).version for i in range(5)]
    assert versions == [1, 2, 3, 4, 5]


def test_stale_expected_version_is_refused(conversation):
    conversation.update_context({"a": 1})
    with pytest.raises(ContextConflictError) as caught:
        conversation.update_context({"a": 2}, expected_version=0)
    assert caught.value.details == {"version": 1}
    assert conversation.get_context().conversation_context == {"a": 1}
    assert conversation.update_context({"a": 3}, expected_version=1).version == 2


def test_invalid_updates_are_rejected(conversation):
    with pytest.raises(ValidationError):
        conversation.update_context(["not", "a", "dict"])
    with pytest.raises(ValidationError):
        conversation.update_context({"user_context": "not an object"})
    assert conversation.get_context().version == 0


def test_context_updated_hook_sees_the_new_version(manager, conversation):
    seen = []
    manager.add_lifecycle_hook("context_updated", lambda event, **data: seen.append(data))
    conversation.update_context({"x": 1})
    assert seen[0]["context"].version == 1 and seen[0]["changes"] == {"x": 1}
    assert seen[0]["session_id"] == conversation.session_id


def test_reading_context_never_writes(conversation):
    from sessions_app.models import Context

    assert conversation.get_context().version == 0
    conversation.export_conversation()
    assert not Context.objects.exists()


def test_reads_mirror_writes_outside_sections(conversation):
    conversation.update_context({"topic": "billing", "user_context.lang": "en"})
    context = conversation.get_context()
    assert context.get("topic") == "billing"
    assert context.get("conversation_context.topic") == "billing"
    assert context.get("user_context.lang") == "en"
