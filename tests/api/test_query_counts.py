"""SQL statements per API request, pinned so that none creeps back.

The caller is a member of a sandbox other than the default one: finding the
session is then two statements (the session with its sandbox, the membership).
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from sessions_app.models import Session
from tests.support.api import create, url

LOOKUP = 2  # the session with its sandbox, then the caller's membership of the sandbox


@pytest.fixture
def conversation(as_alice, team):
    session = create(as_alice, sandbox="team", tags=["a", "b"], name="n")
    as_alice.post(url("sessions", session["id"], "messages"), {"content": "hi"}, format="json")
    return session["id"]


@pytest.mark.parametrize(
    ("path", "statements"),
    [
        ((), LOOKUP + 1),  # + its tags
        (("metrics",), LOOKUP + 1),  # + the first and last message times
        (("export",), LOOKUP + 3),  # + tags, context, messages
        (("context",), LOOKUP + 1),  # + the context
        (("messages",), LOOKUP + 1),  # + the page of messages
    ],
)
def test_reads_of_one_session(as_alice, conversation, django_assert_num_queries, path, statements):
    with django_assert_num_queries(statements):
        response = as_alice.get(url("sessions", conversation, *path))
    assert response.status_code == 200


def test_the_session_list(as_alice, conversation, django_assert_num_queries):
    # The member's sandboxes, the count, the page, the page's tags.
    with django_assert_num_queries(4):
        response = as_alice.get(url("sessions"), {"tag": ["a", "b"], "search": "n"})
    assert response.status_code == 200 and response.json()["count"] == 1


def test_validate_reads_nothing_after_the_lookup(as_alice, conversation, django_assert_num_queries):
    with django_assert_num_queries(LOOKUP):
        response = as_alice.post(url("sessions", conversation, "validate"))
    assert response.status_code == 200 and response.json()["valid"] is True


def test_validate_writes_the_activity_once_due(as_alice, conversation, django_assert_num_queries):
    long_ago = timezone.now() - timedelta(hours=1)
    Session.objects.filter(pk=conversation).update(last_activity=long_ago)
    with django_assert_num_queries(LOOKUP + 1):
        response = as_alice.post(url("sessions", conversation, "validate"))
    assert response.status_code == 200
    assert Session.objects.get(pk=conversation).last_activity > long_ago
