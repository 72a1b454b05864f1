"""One representation per resource: the schema's serializers, the API's answers and the
export all show the field lists of ``services.representations``."""

from __future__ import annotations

import pytest
from rest_framework.serializers import Serializer

from sessions_app.api import outputs
from sessions_app.models import Session
from sessions_app.services import health
from sessions_app.services.catalog import provider_listing
from sessions_app.services.representations import (
    CONTEXT_FIELDS,
    MESSAGE_FIELDS,
    PROVIDER_FIELDS,
    SESSION_FIELDS,
    VALIDITY_FIELDS,
    metrics_representation,
)
from tests.support.api import create, url


def fields_of(serializer: type[Serializer]) -> tuple[str, ...]:
    return tuple(serializer().fields)


@pytest.mark.parametrize(
    ("serializer", "names"),
    [
        (outputs.SessionOutput, SESSION_FIELDS),
        (outputs.CreatedSessionOutput, (*SESSION_FIELDS, "session_key")),
        (outputs.MessageOutput, MESSAGE_FIELDS),
        (outputs.ContextOutput, CONTEXT_FIELDS),
        (outputs.ValidityOutput, VALIDITY_FIELDS),
        (outputs.ProviderOutput, PROVIDER_FIELDS),
    ],
)
def test_the_schema_documents_the_representations_fields(serializer, names):
    assert fields_of(serializer) == names


def test_the_schema_documents_the_metrics_and_health_fields(as_alice):
    session = Session.objects.get(pk=create(as_alice)["id"])
    assert fields_of(outputs.MetricsOutput) == tuple(metrics_representation(session))
    assert fields_of(outputs.HealthOutput) == tuple(health.health_check())
    assert all(tuple(provider) == PROVIDER_FIELDS for provider in provider_listing())


def test_answers_have_the_representations_fields(as_alice):
    session_id = create(as_alice, tags=["t"])["id"]
    sent = as_alice.post(url("sessions", session_id, "messages"), {"content": "hi"}, format="json")
    assert tuple(as_alice.get(url("sessions", session_id)).json()) == SESSION_FIELDS
    assert tuple(as_alice.get(url("sessions")).json()["results"][0]) == SESSION_FIELDS
    assert tuple(sent.json()["reply"]) == MESSAGE_FIELDS
    history = as_alice.get(url("sessions", session_id, "messages")).json()["results"]
    assert [tuple(message) for message in history] == [MESSAGE_FIELDS] * 2
    assert tuple(as_alice.get(url("sessions", session_id, "context")).json()) == CONTEXT_FIELDS


def test_the_export_holds_what_the_api_answers(as_alice):
    session_id = create(as_alice, name="n", tags=["t"], config={"max_messages": 9})["id"]
    as_alice.post(url("sessions", session_id, "messages"), {"content": "hi"}, format="json")
    as_alice.patch(url("sessions", session_id, "context"), {"k": "v"}, format="json")
    document = as_alice.get(url("sessions", session_id, "export")).json()
    assert set(document) == {"session", "context", "messages", "metrics", "exported_at"}
    assert document["session"] == as_alice.get(url("sessions", session_id)).json()
    assert document["session"]["config"]["max_messages"] == 9
    assert document["context"] == as_alice.get(url("sessions", session_id, "context")).json()
    history = as_alice.get(url("sessions", session_id, "messages")).json()["results"]
    assert document["messages"] == history
    metrics = as_alice.get(url("sessions", session_id, "metrics")).json()
    assert document["metrics"] == metrics
