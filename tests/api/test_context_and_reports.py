"""Context (ETag / If-Match), metrics, export, analytics, providers, health, schema and docs."""

from __future__ import annotations

import re

import pytest
import yaml
from django.test import Client

from sessions_app.models import Session
from tests.support.api import client_for, create, url


def context_url(session):
    return url("sessions", session["id"], "context")


def test_context_reads_empty_at_version_zero(as_alice):
    session = create(as_alice)
    response = as_alice.get(context_url(session))
    assert response.status_code == 200 and response["ETag"] == '"0"'
    body = response.json()
    assert body["version"] == 0 and body["updated_at"]
    for section in ("user_context", "conversation_context", "provider_context", "system_context"):
        assert body[section] == {}


def test_context_patch_deep_merges_and_raises_the_version(as_alice):
    session = create(as_alice)
    first = as_alice.patch(
        context_url(session),
        {"user_context": {"prefs": {"lang": "fr", "tz": "UTC"}}},
        format="json",
    )
    assert first.status_code == 200 and first["ETag"] == '"1"'
    second = as_alice.patch(
        context_url(session),
        {"user_context": {"prefs": {"lang": "de"}}, "topic": "billing"},
        format="json",
    )
    body = second.json()
    assert body["user_context"] == {"prefs": {"lang": "de", "tz": "UTC"}}
    assert body["conversation_context"] == {"topic": "billing"}  # undotted keys land here
    assert body["version"] == 2 and second["ETag"] == '"2"'
    assert as_alice.get(context_url(session)).json() == body


@pytest.mark.parametrize("if_match", ['"1"', "1", 'W/"1"', "*"])
def test_a_current_if_match_is_accepted(as_alice, if_match):
    session = create(as_alice)
    as_alice.patch(context_url(session), {"a": 1}, format="json")
    response = as_alice.patch(context_url(session), {"b": 2}, format="json", HTTP_IF_MATCH=if_match)
    assert response.status_code == 200 and response.json()["version"] == 2


@pytest.mark.parametrize("if_match", ['"0"', '"7"', "garbage"])
def test_a_stale_if_match_is_412_and_changes_nothing(as_alice, if_match):
    session = create(as_alice)
    as_alice.patch(context_url(session), {"a": 1}, format="json")
    response = as_alice.patch(context_url(session), {"a": 2}, format="json", HTTP_IF_MATCH=if_match)
    assert response.status_code == 412
    current = as_alice.get(context_url(session)).json()
    assert current["conversation_context"] == {"a": 1} and current["version"] == 1


@pytest.mark.parametrize("body", [[1, 2], "text", {"user_context": "not an object"}])
def test_context_rejects_what_is_not_an_object(as_alice, body):
    session = create(as_alice)
    response = as_alice.patch(context_url(session), body, format="json")
    assert response.status_code == 400
    assert as_alice.get(context_url(session)).json()["version"] == 0


def test_metrics_count_the_conversation(as_alice):
    session = create(as_alice)
    as_alice.post(url("sessions", session["id"], "messages"), {"content": "hi"}, format="json")
    metrics = as_alice.get(url("sessions", session["id"], "metrics")).json()
    assert metrics["session_id"] == session["id"]
    assert (metrics["total_messages"], metrics["user_messages"]) == (2, 1)
    assert (metrics["assistant_messages"], metrics["system_messages"]) == (1, 0)
    assert metrics["total_tokens"] == metrics["input_tokens"] + metrics["output_tokens"] > 0
    assert (metrics["provider_calls"], metrics["provider_errors"]) == (1, 0)
    assert {"avg_response_time_ms", "estimated_cost", "session_duration_seconds"} <= set(metrics)


def test_export_is_one_document(as_alice):
    session = create(as_alice, name="exported")
    as_alice.post(url("sessions", session["id"], "messages"), {"content": "hi"}, format="json")
    as_alice.patch(context_url(session), {"k": "v"}, format="json")
    document = as_alice.get(url("sessions", session["id"], "export")).json()
    assert document["session"]["name"] == "exported"
    assert [m["role"] for m in document["messages"]] == ["user", "assistant"]
    assert document["context"]["conversation_context"] == {"k": "v"}
    assert document["metrics"]["total_messages"] == 2
    assert session["session_key"] not in str(document)


def test_analytics_is_staff_only(as_alice, as_staff):
    assert as_alice.get(url("analytics")).status_code == 403
    assert client_for().get(url("analytics")).status_code in (401, 403)
    assert as_staff.get(url("analytics")).status_code == 200


def test_analytics_reports_totals_and_filters(as_alice, as_bob, as_staff, team):
    in_team = create(as_alice, sandbox="team", user_id="u1")
    create(as_bob, user_id="u2")
    as_alice.post(url("sessions", in_team["id"], "messages"), {"content": "hi"}, format="json")
    everything = as_staff.get(url("analytics")).json()
    assert everything["total_sessions"] == 2 and everything["total_messages"] == 2
    assert everything["provider_usage"] == {"mock": 2}
    assert everything["daily"][0]["sessions"] == 2
    team_only = as_staff.get(url("analytics"), {"sandbox": "team"}).json()
    assert team_only["sandbox_id"] == "team" and team_only["total_sessions"] == 1
    assert as_staff.get(url("analytics"), {"user_id": "u2"}).json()["total_sessions"] == 1
    future = as_staff.get(url("analytics"), {"start": "2999-01-01"}).json()
    assert future["total_sessions"] == 0
    assert as_staff.get(url("analytics"), {"sandbox": "nowhere"}).status_code == 400
    assert as_staff.get(url("analytics"), {"start": "someday"}).status_code == 400


def test_providers_lists_the_configured_ones():
    providers = client_for().get(url("providers")).json()
    mock = next(p for p in providers if p["name"] == "mock")
    # The demo restricts no model: its default is listed, and any name is accepted.
    assert (mock["models"], mock["any_model"]) == (["mock-model"], True)
    assert mock["default_model"] == "mock-model"
    assert mock["streaming"] is True and mock["default"] is True


def test_health_needs_no_auth_and_reveals_no_secret(settings):
    response = client_for().get(url("health"))
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "healthy"
    assert {"database", "cache", "broker", "providers"} <= set(body["checks"])
    assert settings.SECRET_KEY not in response.content.decode()


def test_health_is_503_when_a_dependency_fails(settings):
    settings.CACHES = {
        **settings.CACHES,
        "dead": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": "redis://:hunter2@127.0.0.1:1/0",
            "OPTIONS": {"SOCKET_CONNECT_TIMEOUT": 0.2, "SOCKET_TIMEOUT": 0.2},
        },
    }
    settings.SESSIONS_APP = {**settings.SESSIONS_APP, "CACHE_ALIAS": "dead"}
    response = client_for().get(url("health"))
    assert response.status_code == 503
    assert response.json()["checks"]["cache"].startswith("error")
    assert "hunter2" not in response.content.decode()


def test_the_schema_documents_every_route_and_its_errors():
    response = Client().get(url("schema"))
    assert response.status_code == 200
    schema = yaml.safe_load(response.content)
    paths = schema["paths"]
    expected = {
        "/api/v1/sessions/": {"get", "post"},
        "/api/v1/sessions/{id}/": {"get", "patch", "delete"},
        "/api/v1/sessions/{id}/archive/": {"post"},
        "/api/v1/sessions/{id}/extend/": {"post"},
        "/api/v1/sessions/{id}/validate/": {"post"},
        "/api/v1/sessions/{id}/context/": {"get", "patch"},
        "/api/v1/sessions/{id}/metrics/": {"get"},
        "/api/v1/sessions/{id}/export/": {"get"},
        "/api/v1/sessions/{session_pk}/messages/": {"get", "post", "delete"},
        "/api/v1/sessions/{session_pk}/messages/{id}/": {"get"},
        "/api/v1/analytics/": {"get"},
        "/api/v1/providers/": {"get"},
        "/api/v1/health/": {"get"},
    }
    for path, methods in expected.items():
        assert methods <= set(paths[path]), path
    send = paths["/api/v1/sessions/{session_pk}/messages/"]["post"]["responses"]
    assert {"201", "200", "400", "404", "409", "413", "502"} <= set(send)
    assert "text/event-stream" in send["200"]["content"]
    patch_context = paths["/api/v1/sessions/{id}/context/"]["patch"]["responses"]
    assert "412" in patch_context


def test_the_docs_page_loads_its_assets_from_this_site():
    response = Client().get(url("docs"))
    assert response.status_code == 200
    page = response.content.decode()
    assert "swagger-ui" in page and "/static/drf_spectacular_sidecar/" in page
    # Every asset reference is a path on this site (a random token may contain "cdn").
    assets = re.findall(r"""(?:src|href)\s*=\s*["']([^"']+)["']""", page)
    assert assets and all(link.startswith("/") and not link.startswith("//") for link in assets)
    assert "https://" not in page and "http://" not in page


def test_nothing_stores_or_shows_a_session_key_in_the_clear(as_alice):
    session = create(as_alice)
    key = session["session_key"]
    listing = as_alice.get(url("sessions")).content.decode()
    assert key not in listing
    row = Session.objects.filter(pk=session["id"]).values().get()
    assert key not in str(row)


def test_the_schema_validates_without_warnings(tmp_path):
    from django.core.management import call_command

    target = tmp_path / "schema.yaml"
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(target))
    assert "openapi: 3" in target.read_text()
