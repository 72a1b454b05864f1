"""Fuzzing against our own OpenAPI schema (schemathesis, bounded examples).

Every operation gets generated requests, valid and invalid, as a signed-in
user whose real session stands in for the session ids in paths. No answer
may be a 5xx (502 is the contract's answer to a provider failure, which the
mock provider here never has), and every answer must match the schema.

A second run sends what the schema's own generators never produce (issue 9,
finding 5): lone surrogates and NULs anywhere in a body (keys too), bodies
nested 1,000 levels deep, integers beyond any column or ``timedelta``, cursors
that decode to anything, and odd ``If-Match``, ``Idempotency-Key`` and session
headers. No answer may be a 5xx, and every error is documented JSON.
"""

from __future__ import annotations

import base64
import json
from functools import partial
from typing import Any

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from rest_framework.authtoken.models import Token
from schemathesis import checks

from project.wsgi import application
from sessions_app import limits
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


# What the schema's generators never produce. A body is sent as ASCII-escaped JSON, so a lone
# surrogate reaches the server as "\\ud800"; DEEP is spliced in as 1,000 nested arrays.
DEEP = "<deep>"
DEEP_JSON = "[" * 1000 + "]" * 1000
ODD_TEXT = st.one_of(
    st.sampled_from(["\ud800", "\udfff", "a\udc00b", "\x00", "a\x00", "\u0661", "\u00b2", DEEP]),
    st.integers(0xD800, 0xDFFF).map(chr),
    st.text(max_size=8),
)
COLUMN_BOUNDS = [limits.MAX_MAX_MESSAGES, limits.MAX_SEQ, limits.MAX_TTL_SECONDS]
HUGE_NUMBERS = st.one_of(
    st.sampled_from([2**31, 2**63, 2**64, 10**10, 10**30, 3153600000, 1e308, -(2**63) - 1]),
    st.sampled_from(COLUMN_BOUNDS).map(lambda bound: bound + 1),
    st.integers(),
)
ODD_JSON = st.recursive(
    st.one_of(ODD_TEXT, HUGE_NUMBERS, st.booleans(), st.none()),
    lambda children: st.one_of(
        st.lists(children, max_size=3), st.dictionaries(ODD_TEXT, children, max_size=3)
    ),
    max_leaves=8,
)
ODD_OBJECT = st.dictionaries(ODD_TEXT, ODD_JSON, max_size=3)
CONFIG = st.fixed_dictionaries(
    {},
    optional={
        "max_messages": HUGE_NUMBERS,
        "max_tokens_per_message": HUGE_NUMBERS,
        "session_timeout_minutes": HUGE_NUMBERS,
        "auto_archive_after": HUGE_NUMBERS,
        "auto_delete_after": HUGE_NUMBERS,
        "custom_settings": ODD_OBJECT,
        "provider_config": ODD_OBJECT,
    },
)
SESSION_FIELDS = {
    "name": ODD_TEXT,
    "description": ODD_TEXT,
    "tags": st.lists(ODD_TEXT, max_size=3),
    "config": CONFIG,
    "metadata": ODD_OBJECT,
}
# Fields of each body (a field a body does not know is refused before anything reaches the
# checks that matter); the context takes any keys, dotted or not.
BODY_FIELDS: dict[tuple[str, str], dict[str, st.SearchStrategy[Any]]] = {
    ("POST", "/sessions/"): {**SESSION_FIELDS, "ttl_seconds": HUGE_NUMBERS},
    ("PATCH", "/sessions/{id}/"): SESSION_FIELDS,
    ("POST", "/sessions/{id}/extend/"): {"seconds": HUGE_NUMBERS},
    ("POST", "/sessions/{session_pk}/messages/"): {"content": ODD_TEXT, "metadata": ODD_OBJECT},
}
# Fields without which a body is refused before the others are read.
REQUIRED = {("POST", "/sessions/{session_pk}/messages/"): {"content": "hi"}}
DOTTED_KEYS = st.lists(st.sampled_from(["k", "user_context", "\ud800", ""]), max_size=80)
CONTEXT_BODY = st.dictionaries(st.one_of(ODD_TEXT, DOTTED_KEYS.map(".".join)), ODD_JSON, max_size=3)
# Headers travel as latin-1; query strings as UTF-8, which cannot carry a lone surrogate.
HEADER_TEXT = st.one_of(
    st.sampled_from(['"\u00b2"', "\u00b2", 'W/"1"', '"1\u00b2"', "9" * 5000, "*", '""', "-1"]),
    # Clients refuse to send a value with leading whitespace.
    st.text(st.characters(min_codepoint=0x20, max_codepoint=0xFF), max_size=12).filter(
        lambda value: value == value.lstrip()
    ),
)
HEADERS = st.fixed_dictionaries(
    {},
    optional={"If-Match": HEADER_TEXT, "Idempotency-Key": HEADER_TEXT, "X-Session-ID": HEADER_TEXT},
)
QUERY_TEXT = st.text(st.characters(exclude_categories=["Cs"]), max_size=12)
CURSOR_FIELDS = st.dictionaries(
    st.sampled_from("opr"), st.one_of(QUERY_TEXT, HUGE_NUMBERS.map(str))
)
CURSORS = st.one_of(
    QUERY_TEXT,
    st.one_of(QUERY_TEXT, HUGE_NUMBERS.map(str)).map(
        lambda position: base64.b64encode(f"p={position}".encode()).decode()
    ),
    CURSOR_FIELDS.map(lambda fields: "&".join(f"{k}={v}" for k, v in fields.items())).map(
        lambda text: base64.b64encode(text.encode()).decode()
    ),
)
QUERY = st.fixed_dictionaries(
    {},
    optional={"cursor": CURSORS, "page_size": st.one_of(QUERY_TEXT, HUGE_NUMBERS.map(str))},
)


def wire_json(value: Any) -> bytes:
    return json.dumps(value).replace(json.dumps(DEEP), DEEP_JSON).encode()


def body_strategy(method: str, path: str) -> st.SearchStrategy[Any] | None:
    if path.endswith("/context/") and method == "PATCH":
        return CONTEXT_BODY
    fields = BODY_FIELDS.get((method, path))
    if fields is None:
        return None
    required = REQUIRED.get((method, path), {})
    # One odd field at a time reaches its own check; several at once, whichever runs first.
    one_field = [
        st.fixed_dictionaries({**{k: st.just(v) for k, v in required.items()}, name: value})
        for name, value in fields.items()
    ]
    return st.one_of(*one_field, st.fixed_dictionaries({}, optional=fields))


def hostile(case: Any, body: Any, headers: dict[str, str], query: dict[str, str]) -> Any:
    if body is not None:
        case.body = wire_json(body)
    case.headers = {**(case.headers or {}), **headers}
    case.query = {**(case.query or {}), **query}
    return case


hostile_schema = schemathesis.openapi.from_wsgi("/api/v1/schema/", application)


@hostile_schema.hook
def flatmap_case(context: Any, case: Any) -> st.SearchStrategy[Any]:
    path = case.path.removeprefix("/api/v1")
    body = body_strategy(case.method.upper(), path)
    return st.builds(
        partial(hostile, case),
        body=st.none() if body is None else st.one_of(body, ODD_JSON),
        headers=HEADERS,
        query=QUERY if case.method.upper() == "GET" else st.just({}),
    )


HOSTILE_CHECKS = [
    checks.not_a_server_error,
    checks.status_code_conformance,
    checks.content_type_conformance,
]


@hostile_schema.parametrize()
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
)
def test_hostile_input_is_never_a_server_error(case, alice, keep_test_connection):
    token, _ = Token.objects.get_or_create(user=alice)
    session = SessionManager().create_session(user=alice)
    real_ids(case, session.session_id)
    headers = {"Authorization": f"Token {token.key}"}
    case.call_and_validate(headers=headers, checks=HOSTILE_CHECKS)
