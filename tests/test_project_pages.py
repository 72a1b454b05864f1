"""The demo project's pages answer: home, and the admin lists for every model."""

from __future__ import annotations

import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db


def test_home_page_points_to_the_admin(client):
    response = client.get("/")
    assert response.status_code == 200
    assert reverse("admin:index") in response.content.decode()


@pytest.mark.parametrize("model", ["sandbox", "session", "message", "context"])
def test_admin_lists_render(admin_client, conversation, model):
    conversation.send_message("hi")
    conversation.update_context({"a": 1})
    response = admin_client.get(reverse(f"admin:sessions_app_{model}_changelist"))
    assert response.status_code == 200


def test_admin_session_page_hides_the_key_hash(admin_client, conversation):
    from sessions_app.models import Session

    row = Session.objects.get(pk=conversation.session_id)
    response = admin_client.get(reverse("admin:sessions_app_session_change", args=[row.pk]))
    assert response.status_code == 200
    assert row.key_hash not in response.content.decode()


def test_admin_edit_changes_only_descriptive_fields(admin_client, conversation):
    from sessions_app.models import Session

    row = Session.objects.get(pk=conversation.session_id)
    url = reverse("admin:sessions_app_session_change", args=[row.pk])
    page = admin_client.get(url)
    assert page.status_code == 200
    conversation.send_message("sent while the form was open")
    response = admin_client.post(
        url,
        {
            "name": "Renamed by staff",
            "description": "",
            "metadata": "{}",
            "expires_at_0": row.expires_at.strftime("%Y-%m-%d"),
            "expires_at_1": row.expires_at.strftime("%H:%M:%S"),
            "messages-TOTAL_FORMS": "0",
            "messages-INITIAL_FORMS": "0",
            "messages-MIN_NUM_FORMS": "0",
            "messages-MAX_NUM_FORMS": "1000",
            "status": "archived",
            "message_count": "0",
        },
    )
    assert response.status_code == 302
    fresh = Session.objects.get(pk=row.pk)
    assert fresh.name == "Renamed by staff"
    assert (fresh.status, fresh.message_count, fresh.last_seq) == ("active", 2, 2)
    assert conversation.send_message("after the edit").seq == 4


def test_admin_cannot_add_sessions_or_edit_history(admin_client, conversation):
    conversation.send_message("hi")
    assert admin_client.get(reverse("admin:sessions_app_session_add")).status_code == 403
    message = conversation.get_messages()[0]
    change = admin_client.post(
        reverse("admin:sessions_app_message_change", args=[message.pk]), {"content": "forged"}
    )
    assert change.status_code == 403
    assert conversation.get_messages()[0].content == "hi"


def test_demo_visits_counter_with_only_the_header(client):
    first = client.get("/visits/")
    key = first.headers["X-Session-ID"]
    assert first.json() == {"visits": 1}
    client.cookies.clear()
    second = client.get("/visits/", headers={"X-Session-ID": key})
    assert second.json() == {"visits": 2}
    assert second.headers["X-Session-ID"] == key
    assert "X-Session-ID" in second.headers["Vary"] and "Cookie" in second.headers["Vary"]
