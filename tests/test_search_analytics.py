"""Finding sessions, analytics from counters, exports and inactivity clean-up."""

from __future__ import annotations

import csv
import io
import json
from datetime import date, timedelta

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from sessions_app.exceptions import ValidationError
from sessions_app.models import Session

pytestmark = pytest.mark.django_db


@pytest.fixture
def sessions(manager):
    a = manager.create_session(
        user_id="alice", session_config={"name": "Billing help", "tags": ["billing", "vip"]}
    )
    b = manager.create_session(user_id="alice", session_config={"tags": ["billing"]})
    c = manager.create_session(user_id="bob", model="mock-echo", session_config={"tags": ["vip"]})
    return a, b, c


def ids(found):
    return {s.session_id for s in found}


def test_tag_filters_need_every_tag(manager, sessions):
    a, b, c = sessions
    assert ids(manager.search_sessions(tags=["billing"])) == {a.session_id, b.session_id}
    assert ids(manager.search_sessions(tags=["billing", "vip"])) == {a.session_id}
    assert ids(manager.search_sessions(tags=["vip"])) == {a.session_id, c.session_id}
    assert manager.search_sessions(tags=["bill"]) == []


def test_search_by_user_status_provider_model_and_text(manager, sessions):
    a, b, c = sessions
    b.archive()
    assert ids(manager.search_sessions(user_id="alice")) == {a.session_id, b.session_id}
    assert ids(manager.search_sessions(user_id="alice", status="active")) == {a.session_id}
    assert ids(manager.search_sessions(provider="mock", model="mock-echo")) == {c.session_id}
    assert ids(manager.search_sessions(query="billing")) == {a.session_id}
    assert len(manager.search_sessions(limit=2)) == 2


def test_user_sessions_newest_first_with_limit_and_since(manager, sessions):
    a, b, _ = sessions
    Session.objects.filter(pk=a.session_id).update(created_at=timezone.now() - timedelta(days=1))
    assert [s.session_id for s in manager.get_user_sessions("alice")] == [
        b.session_id,
        a.session_id,
    ]
    assert len(manager.get_user_sessions("alice", limit=1)) == 1
    Session.objects.filter(pk=a.session_id).update(last_activity=timezone.now() - timedelta(days=2))
    since = timezone.now() - timedelta(hours=1)
    assert ids(manager.get_user_sessions("alice", since=since)) == {b.session_id}


def test_django_user_sessions(manager):
    user = get_user_model().objects.create_user("dj")
    mine = manager.create_session(user=user)
    manager.create_session(user_id="someone")
    assert ids(manager.get_user_sessions(user)) == {mine.session_id}


def test_listing_tags_does_not_query_per_session(manager, sessions):
    found = manager.search_sessions()
    with CaptureQueriesContext(connection) as queries:
        tags = [s.record.tags for s in found]
    assert len(queries) == 0 and sorted(map(tuple, tags)) == [
        ("billing",),
        ("billing", "vip"),
        ("vip",),
    ]


def test_analytics_from_counters(manager, sessions):
    a, _, c = sessions
    a.send_message("one")
    a.send_message("two")
    c.send_message("three")
    c.archive()
    report = manager.get_analytics()
    assert report["total_sessions"] == 3
    assert report["active_sessions"] == 2
    assert report["sessions_by_status"] == {"active": 2, "archived": 1}
    assert report["active_users"] == 2
    assert report["total_messages"] == 6
    assert report["avg_messages_per_session"] == 2.0
    assert report["provider_usage"] == {"mock": 3}
    assert report["model_usage"] == {"mock-model": 2, "mock-echo": 1}
    tokens = sum(m.input_tokens + m.output_tokens for s in (a, c) for m in s.get_messages())
    assert report["total_tokens"] == tokens
    assert report["provider_calls"] == 3 and report["error_rate"] == 0.0
    assert report["daily"] == [
        {
            "date": timezone.now().date(),
            "sessions": 3,
            "messages": 6,
            "tokens": tokens,
            "estimated_cost": 0.0,
            "cost_status": "known",
        }
    ]
    assert manager.get_analytics(user_id="bob")["total_messages"] == 2
    tomorrow = date.today() + timedelta(days=1)
    assert manager.get_analytics(start_date=tomorrow)["total_sessions"] == 0


def test_analytics_does_not_scan_messages(manager, sessions):
    with CaptureQueriesContext(connection) as queries:
        manager.get_analytics()
    assert not any("sessions_app_message" in q["sql"] for q in queries)


def test_export_json_and_csv(manager, sessions):
    a, _, _ = sessions
    a.send_message("hello")
    documents = json.loads(manager.export_sessions(user_id="alice"))
    assert {d["session"]["id"] for d in documents} == {s.session_id for s in sessions[:2]}
    exported_a = next(d for d in documents if d["session"]["id"] == a.session_id)
    assert exported_a["messages"][0]["content"] == "hello"
    rows = list(csv.DictReader(io.StringIO(manager.export_sessions(format="csv"))))
    assert len(rows) == 3 and {r["user_id"] for r in rows} == {"alice", "bob"}
    with pytest.raises(ValidationError):
        manager.export_sessions(format="xml")


def test_cleanup_inactive_sessions(manager, sessions):
    a, b, c = sessions
    old = timezone.now() - timedelta(days=40)
    Session.objects.filter(pk__in=[a.session_id, b.session_id]).update(last_activity=old)
    b.archive()
    assert manager.cleanup_inactive_sessions(days=30, status="archived") == 1
    assert manager.cleanup_inactive_sessions(days=30) == 1
    assert ids(manager.search_sessions()) == {c.session_id}


def test_health_check(manager):
    report = manager.health_check()
    assert report["status"] == "healthy"
    assert report["checks"]["database"] == "ok"
