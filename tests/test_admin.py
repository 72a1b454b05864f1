"""The admin changes and deletes sessions through the services, and shows history in pages."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from sessions_app import signals
from sessions_app.admin.messages import MessageInline
from sessions_app.models import Message, Session
from sessions_app.utils.keys import hash_key
from tests.support import hooks

pytestmark = pytest.mark.django_db


def change_url(session_id) -> str:
    return reverse("admin:sessions_app_session_change", args=[session_id])


def change_form(row: Session, **changes) -> dict[str, str]:
    """The session change form as the page posts it, with ``changes`` applied."""
    expires_at = changes.pop("expires_at", row.expires_at)
    return {
        "name": row.name,
        "description": row.description,
        "metadata": "{}",
        "expires_at_0": expires_at.strftime("%Y-%m-%d") if expires_at else "",
        "expires_at_1": expires_at.strftime("%H:%M:%S") if expires_at else "",
        "messages-TOTAL_FORMS": "0",
        "messages-INITIAL_FORMS": "0",
        "messages-MIN_NUM_FORMS": "0",
        "messages-MAX_NUM_FORMS": "1000",
        **changes,
    }


def web_session(client) -> str:
    """A new browser session of the demo project's visits page; returns its key."""
    client.cookies.clear()
    response = client.get("/visits/")
    assert response.json() == {"visits": 1}
    return response.headers["X-Session-ID"]


def visits_with(client, key: str) -> tuple[int, str]:
    client.cookies.clear()
    response = client.get("/visits/", headers={"X-Session-ID": key})
    return response.json()["visits"], response.headers["X-Session-ID"]


@pytest.fixture(params=["database only", "redis cache"])
def cache_setup(request):
    if request.param == "redis cache":
        request.getfixturevalue("redis_cache")


@pytest.fixture
def deletions(settings):
    """Session ids seen by a settings hook and by the Django signal, in that order."""
    settings.SESSIONS_APP = {
        **settings.SESSIONS_APP,
        "HOOKS": {"session_deleted": ["tests.support.hooks.record"]},
    }
    hooks.calls.clear()
    signalled: list[str] = []

    def receiver(sender, **data):
        signalled.append(data["session_id"])

    signals.session_deleted.connect(receiver)
    yield hooks.calls, signalled
    signals.session_deleted.disconnect(receiver)
    hooks.calls.clear()


# --- saves -------------------------------------------------------------------------------


def test_an_edit_saves_every_editable_field_through_the_services(
    admin_client, manager, conversation
):
    row = Session.objects.get(pk=conversation.session_id)
    Session.objects.filter(pk=row.pk).update(metadata={"old": 1})
    later = timezone.now().replace(microsecond=0) + timedelta(days=3)
    response = admin_client.post(
        change_url(row.pk),
        change_form(
            row, name="Support", description="Escalated", metadata='{"new": 2}', expires_at=later
        ),
    )
    assert response.status_code == 302
    fresh = Session.objects.get(pk=row.pk)
    assert (fresh.name, fresh.description) == ("Support", "Escalated")
    assert fresh.metadata == {"new": 2}  # replaced, as the form shows the whole object
    assert fresh.expires_at == later
    assert manager.get_session_info(row.pk)["custom_metadata"] == {"new": 2}


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("expires_at", timedelta(days=200 * 365), "at most 36500 days ahead"),
        ("expires_at", -timedelta(minutes=1), "must be in the future"),
        ("metadata", "[1, 2]", "metadata must be an object"),
    ],
)
def test_a_value_the_services_refuse_is_a_form_error(
    admin_client, conversation, field, value, message
):
    row = Session.objects.get(pk=conversation.session_id)
    if field == "expires_at":
        value = timezone.now() + value
    response = admin_client.post(change_url(row.pk), change_form(row, **{field: value}))
    assert response.status_code == 200
    assert message in response.content.decode()
    fresh = Session.objects.get(pk=row.pk)
    assert (fresh.expires_at, fresh.metadata) == (row.expires_at, row.metadata)


def test_a_session_the_services_would_not_write_is_read_only(admin_client, conversation):
    conversation.archive()
    row = Session.objects.get(pk=conversation.session_id)
    page = admin_client.get(change_url(row.pk))
    assert page.status_code == 200
    assert 'name="name"' not in page.content.decode()
    response = admin_client.post(change_url(row.pk), change_form(row, name="Renamed"))
    assert response.status_code == 403
    assert Session.objects.get(pk=row.pk).name == row.name


# --- deletes -----------------------------------------------------------------------------


def test_a_delete_fires_the_hook_and_signal_and_revokes_the_key(
    cache_setup, admin_client, client, deletions, django_capture_on_commit_callbacks
):
    key = web_session(client)
    row = Session.objects.get(key_hash=hash_key(key))
    assert visits_with(client, key) == (2, key)  # the key works (and is cached)
    delete_url = reverse("admin:sessions_app_session_delete", args=[row.pk])
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(delete_url, {"post": "yes"})
    assert response.status_code == 302
    assert not Session.objects.filter(pk=row.pk).exists()
    assert deletions == ([str(row.pk)], [str(row.pk)])
    visits, new_key = visits_with(client, key)
    assert visits == 1 and new_key != key


def test_a_bulk_delete_fires_the_hook_and_signal_for_each_and_revokes_the_keys(
    cache_setup, admin_client, client, deletions, manager, django_capture_on_commit_callbacks
):
    keys = [web_session(client) for _ in range(2)]
    rows = [Session.objects.get(key_hash=hash_key(key)) for key in keys]
    for key in keys:
        assert visits_with(client, key) == (2, key)
    kept = manager.create_session(user_id="bob")
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(
            reverse("admin:sessions_app_session_changelist"),
            {"action": "delete_selected", "_selected_action": [r.pk for r in rows], "post": "yes"},
        )
    assert response.status_code == 302
    assert not Session.objects.filter(pk__in=[r.pk for r in rows]).exists()
    assert Session.objects.filter(pk=kept.session_id).exists()
    ids = sorted(str(r.pk) for r in rows)
    assert (sorted(deletions[0]), sorted(deletions[1])) == (ids, ids)
    for key in keys:
        visits, new_key = visits_with(client, key)
        assert visits == 1 and new_key != key


# --- message history ---------------------------------------------------------------------


@pytest.fixture
def long_conversation(manager, conversation):
    """A conversation of 60 messages, and another conversation's messages beside it."""
    for number in range(30):
        conversation.send_message(f"question {number}")
    manager.create_session(user_id="bob").send_message("elsewhere")
    return conversation


def test_the_inline_shows_the_latest_messages_and_links_the_whole_history(
    admin_client, long_conversation
):
    response = admin_client.get(change_url(long_conversation.session_id))
    assert response.status_code == 200
    (inline,) = response.context["inline_admin_formsets"]
    seqs = [form.form.instance.seq for form in inline]
    assert seqs == list(range(61 - MessageInline.latest, 61))
    history = reverse("admin:sessions_app_message_changelist")
    link = f"{history}?session__id__exact={long_conversation.session_id}"
    page = response.content.decode()
    assert f'<a href="{link}">View all 60 messages</a>' in page


def test_the_history_lists_only_that_session_in_pages(admin_client, long_conversation):
    history = reverse("admin:sessions_app_message_changelist")
    query = f"session__id__exact={long_conversation.session_id}"
    first = admin_client.get(f"{history}?{query}")
    assert first.status_code == 200
    changelist = first.context["cl"]
    assert changelist.result_count == 60
    assert [m.seq for m in changelist.result_list] == list(range(1, 51))
    second = admin_client.get(f"{history}?{query}&p=2").context["cl"]
    assert [m.seq for m in second.result_list] == list(range(51, 61))
    assert {str(m.session_id) for m in second.result_list} == {long_conversation.session_id}
    assert Message.objects.count() == 62


# --- secrets -----------------------------------------------------------------------------


def test_no_admin_page_shows_keys_key_hashes_or_session_payloads(
    admin_client, client, conversation
):
    key = web_session(client)
    client.get("/visits/")
    row = Session.objects.get(key_hash=hash_key(key))
    assert row.session_data
    conversation.send_message("hi")
    conversation.update_context({"a": 1})
    changelist = reverse("admin:sessions_app_session_changelist")
    pages = [
        changelist,
        change_url(row.pk),
        change_url(conversation.session_id),
        reverse("admin:sessions_app_session_delete", args=[row.pk]),
        reverse("admin:sessions_app_session_history", args=[row.pk]),
        reverse("admin:sessions_app_message_changelist"),
        reverse("admin:sessions_app_context_changelist"),
        reverse("admin:sessions_app_sandbox_changelist"),
    ]
    bodies = [admin_client.get(url) for url in pages]
    bodies.append(
        admin_client.post(changelist, {"action": "delete_selected", "_selected_action": [row.pk]})
    )
    for url, response in zip([*pages, "bulk delete confirmation"], bodies, strict=True):
        assert response.status_code == 200, url
        page = response.content.decode()
        for secret in (key, row.key_hash, row.session_data):
            assert secret not in page, url
