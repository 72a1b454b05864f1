"""Fuzzing against our own OpenAPI schema (schemathesis, bounded examples).

Every operation gets generated requests, valid and invalid, as a signed-in
user whose real session stands in for the session ids in paths. No answer
may be a 5xx (502 is the contract's answer to a provider failure, which the
mock provider here never has), and every answer must match the schema.
"""

from __future__ import annotations

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from rest_framework.authtoken.models import Token
from schemathesis import checks

from project.wsgi import application
from sessions_app.manager import SessionManager

schema = schemathesis.openapi.from_wsgi("/api/v1/schema/", application)
EXAMPLES = 25
# What the API promises of every answer. Left out: whether a schema-valid body is accepted
# (a valid-looking sandbox slug may not exist) and the reverse (the schema does not spell
# out every rule, such as a positive TTL being finite).
CHECKS = [
    checks.not_a_server_error,
    checks.status_code_conformance,
    checks.content_type_conformance,
    checks.response_headers_conformance,
    checks.response_schema_conformance,
]


@pytest.fixture
def keep_test_connection():
    """What Django's test client does around each request: the test's transaction and its
    connection must survive the request_started / request_finished signals."""
    signals = (request_started, request_finished)
    for signal in signals:
        signal.disconnect(close_old_connections)
    yield
    for signal in signals:
        signal.connect(close_old_connections)


def real_ids(case, session_id: str) -> None:
    """Point session paths at a live session of the caller (random ids only ever 404)."""
    parameters = case.path_parameters or {}
    if "session_pk" in parameters:
        parameters["session_pk"] = session_id
    elif "id" in parameters and case.path.startswith("/api/v1/sessions/{id}"):
        parameters["id"] = session_id


@schema.parametrize()
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
)
def test_no_server_errors_and_answers_match_the_schema(case, alice, keep_test_connection):
    token, _ = Token.objects.get_or_create(user=alice)
    session = SessionManager().create_session(user=alice)
    real_ids(case, session.session_id)
    case.call_and_validate(headers={"Authorization": f"Token {token.key}"}, checks=CHECKS)
