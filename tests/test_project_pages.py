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
