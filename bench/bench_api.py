"""REST API v1 under gunicorn: requests/s and p50 / p99 latency, against a bare JSON view.

One gunicorn (``--workers 2 --worker-class sync`` on 127.0.0.1, started and always stopped by
``bench_http.gunicorn``) with the bench-only settings ``bench/api_settings.py`` (the HTTP
bench settings without session middleware, URLconf ``bench/api_urls.py``, the project's
``SESSIONS_APP`` with throttling off) serves every endpoint measured:

* ``GET /bare``: a Django ``JsonResponse`` of a small dict, no authentication (baseline);
* ``POST /api/v1/sessions/{id}/messages/`` ``{"content": "hi"}``: a conversation turn (user
  message, mock provider without delay, stored reply);
* ``GET /api/v1/sessions/{id}/messages/?page_size=50``: the first page and a page from the
  middle (a cursor at ``seq`` 5,000) of a session holding 10,000 messages;
* ``GET /api/v1/sessions/?page_size=50``: pages 1 and 10 of a user owning 1,000 sessions.

The API calls authenticate with a DRF token (``Authorization: Token <key>``). Data is seeded
fast: the sessions through ``SessionManager``, then the 10,000 messages (consecutive ``seq``,
counters and ``last_seq`` set to match) and 998 more sessions of the user with
``bulk_create``, then ``ANALYZE``. Before the load, each endpoint answers once in-process
(Django test ``Client``, same settings): its answer is checked and the SQL statements and
Redis round trips of a warm request are counted.

Load: ``bench/_loadgen.py`` as in ``bench_http.py`` (one process per two CPUs, 4 connections
each: ``BENCH_HTTP_CLIENTS`` / ``BENCH_HTTP_THREADS``), in ``BENCH_API_ROUNDS`` rounds (default
3) of one ``BENCH_API_SECONDS`` window (default 3: a p99 needs samples) per endpoint,
interleaved; a rate is the median over the rounds, a ratio the median of the per-round ratios
to the bare view, p50 / p99 are over all the requests of an endpoint.

Latency is measured twice: under the throughput load above (4 connections on 2 workers, so
a request usually waits behind another in gunicorn's queue) and in a second pass with one
connection per worker (``LATENCY_THREADS``), where p50 / p99 are the endpoint's own.

Targets (printed PASS / MISS, never a failure): p99 of a message page under 20 ms (from the
pass with one connection per worker); the POST at least a third of the bare view's rate.

Needs PostgreSQL and Redis (``DATABASE_URL`` / ``REDIS_URL``, by default those of ``run.py``);
prints a skip line when either is unreachable.
"""

from __future__ import annotations

import base64
import os
import re
import secrets
import signal
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from _common import (
    Row,
    count_redis,
    emit,
    paired_ratio,
    redis_client,
    report_our_failure,
    setup_django,
)
from bench_http import (
    CLIENTS,
    HOST,
    THREADS,
    WORKERS,
    Load,
    Setup,
    combine,
    gunicorn,
    on_sigterm,
    problems,
    run_load,
)
from run import POSTGRES_URL, REDIS_URL

SETTINGS = "api_settings"
# Latency pass: one connection per gunicorn worker, so no request waits behind another in
# gunicorn's queue and p50 / p99 are the endpoint's own; the throughput pass queues.
LATENCY_THREADS = max(1, WORKERS // CLIENTS)
SECONDS = float(os.environ.get("BENCH_API_SECONDS", "3"))
ROUNDS = max(1, int(os.environ.get("BENCH_API_ROUNDS", "3")))
HISTORY_MESSAGES = 10_000
OWNED_SESSIONS = 1_000
PAGE_SIZE = 50
SESSIONS_PAGE = 10
MESSAGE_BODY = '{"content": "hi"}'
CONTENT = "Benchmark message: the quick brown fox jumps over the lazy dog."
P99_TARGET_MS = 20.0
POST_TARGET = 1 / 3  # POST rate / bare rate
BASELINE = "bare JsonResponse"
POST = "POST message"
MESSAGE_PAGES = ("messages, first page", "messages, middle page")
WRITES = re.compile(r'\b(UPDATE|INSERT INTO)\s+"?(\w+)')
READ_FROM = re.compile(r'\bFROM\s+"?(\w+)')


@dataclass(frozen=True)
class Fixture:
    token: str
    history_id: str  # the session holding HISTORY_MESSAGES messages
    turn_id: str  # the session the POSTs go to


@dataclass
class Endpoint:
    label: str
    path: str  # "/path" for a GET, "POST /path" otherwise (as _loadgen.py takes it)
    first_seq: int | None = None  # a message page: ``seq`` of its first message
    total: int | None = None  # a session page: the count it reports
    load: Load | None = None
    latency: Load | None = None  # the pass at one connection per worker
    sql: list[str] = field(default_factory=list)
    redis: str = "-"
    redis_trips: int = 0
    status: str = ""  # "" = measured; else why not

    @property
    def method(self) -> str:
        return self.path.rpartition(" ")[0] or "GET"

    @property
    def url(self) -> str:
        return self.path.rpartition(" ")[2]


class ApiServer(Setup):
    """A ``bench_http`` set-up whose gunicorn runs the API settings.

    Its environment names the settings module only, so gunicorn reads the same settings as
    this process (``http_settings``' knobs stay unset: no session middleware).
    """

    def environ(self) -> dict[str, str]:
        return {"DJANGO_SETTINGS_MODULE": SETTINGS}


# --- data ---------------------------------------------------------------------------------


def seed() -> Fixture:
    from django.contrib.auth import get_user_model
    from rest_framework.authtoken.models import Token

    from sessions_app.manager import SessionManager

    user = get_user_model().objects.create_user("bench-api")
    token = Token.objects.create(user=user)
    manager = SessionManager()
    tags = {"tags": ["bench"]}
    history = manager.create_session(user=user, session_config={"name": "history", **tags})
    turns = manager.create_session(user=user, session_config={"name": "turns", **tags})
    fill_history(history.record, HISTORY_MESSAGES)
    clone_sessions(history.record, OWNED_SESSIONS - 2)
    analyze()
    return Fixture(token.key, str(history.record.pk), str(turns.record.pk))


def fill_history(session: Any, count: int) -> None:
    """``count`` messages with seq 1..count, and the counters an append would have left."""
    from sessions_app import cache
    from sessions_app.models import Message, MessageRole, Session

    start = session.created_at
    Message.objects.bulk_create(
        (
            Message(
                session_id=session.pk,
                seq=seq,
                role=MessageRole.USER if seq % 2 else MessageRole.ASSISTANT,
                content=f"{CONTENT} #{seq}",
                created_at=start + timedelta(milliseconds=seq),
            )
            for seq in range(1, count + 1)
        ),
        batch_size=2_000,
    )
    users = (count + 1) // 2
    Session.objects.filter(pk=session.pk).update(
        last_seq=count,
        message_count=count,
        user_message_count=users,
        assistant_message_count=count - users,
    )
    cache.invalidate(session)


def clone_sessions(template: Any, count: int) -> None:
    """``count`` more sessions of the template's user, older than it, each with its tag."""
    from django.utils import timezone

    from sessions_app.models import Session, SessionTag

    now = timezone.now()
    clones = [
        Session(
            key_hash=secrets.token_hex(32),  # nobody uses their keys: any unique hash will do
            sandbox_id=template.sandbox_id,
            user_id=template.user_id,
            provider=template.provider,
            model=template.model,
            name=f"bench session {index}",
            config=template.config,
            created_at=now - timedelta(seconds=index),
            last_activity=now - timedelta(seconds=index),
            expires_at=template.expires_at,
        )
        for index in range(1, count + 1)
    ]
    Session.objects.bulk_create(clones, batch_size=500)
    SessionTag.objects.bulk_create(
        [SessionTag(session=clone, name="bench") for clone in clones], batch_size=1_000
    )


def analyze() -> None:
    """Fresh planner statistics, as autovacuum keeps them on a live database.

    Right after the bulk inserts PostgreSQL still estimates a dozen messages per session and
    sorts all 10,000 of them for a page instead of reading 51 from the ``(session, seq)`` index.
    """
    from django.db import connection

    if connection.vendor in ("postgresql", "sqlite"):
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")


def endpoints(fixture: Fixture) -> list[Endpoint]:
    sessions = "/api/v1/sessions/"
    history = f"{sessions}{fixture.history_id}/messages/"
    middle = HISTORY_MESSAGES // 2
    cursor = base64.b64encode(f"p={middle}".encode()).decode()  # DRF's cursor: after seq 5,000
    page = {"page_size": PAGE_SIZE}
    return [
        Endpoint(BASELINE, "/bare"),
        Endpoint(POST, f"POST {sessions}{fixture.turn_id}/messages/"),
        Endpoint(MESSAGE_PAGES[0], f"{history}?{urlencode(page)}", first_seq=1),
        Endpoint(
            MESSAGE_PAGES[1],
            f"{history}?{urlencode({**page, 'cursor': cursor})}",
            first_seq=middle + 1,
        ),
        Endpoint("sessions, page 1", f"{sessions}?{urlencode(page)}", total=OWNED_SESSIONS),
        Endpoint(
            f"sessions, page {SESSIONS_PAGE}",
            f"{sessions}?{urlencode({**page, 'page': SESSIONS_PAGE})}",
            total=OWNED_SESSIONS,
        ),
    ]


# --- one request in-process ---------------------------------------------------------------


def call(client: Any, endpoint: Endpoint) -> Any:
    if endpoint.method == "POST":
        return client.post(endpoint.url, MESSAGE_BODY, content_type="application/json")
    return client.get(endpoint.url)


def wrong_answer(endpoint: Endpoint, response: Any) -> str:
    """Why the answer is not the one the seeded data implies ('' when it is)."""
    if not 200 <= response.status_code < 300:
        return f"HTTP {response.status_code}: {response.content[:200]!r}"
    data = response.json()
    if endpoint.method == "POST":
        reply = data.get("reply") or {}
        return "" if reply.get("role") == "assistant" else f"no reply: {data}"
    results = data.get("results")
    if results is None:
        return ""  # the bare view
    if len(results) != PAGE_SIZE:
        return f"{len(results)} results, not {PAGE_SIZE}"
    if endpoint.first_seq is not None and results[0]["seq"] != endpoint.first_seq:
        return f"page starts at seq {results[0]['seq']}, not {endpoint.first_seq}"
    if endpoint.total is not None and data.get("count") != endpoint.total:
        return f"count {data.get('count')}, not {endpoint.total}"
    return ""


def table(name: str) -> str:
    return name.removeprefix("sessions_app_")


def statement_name(sql: str) -> str:
    """``SELECT message``, ``COUNT session``, ``WITH (UPDATE session, INSERT INTO message)``."""
    keyword = sql.split(None, 1)[0].upper()
    if keyword == "WITH":
        writes = ", ".join(f"{verb} {table(name)}" for verb, name in WRITES.findall(sql))
        return f"WITH ({writes})"
    if sql.startswith("SELECT COUNT("):
        keyword = "COUNT"
    found = READ_FROM.search(sql) if keyword in ("SELECT", "COUNT") else WRITES.search(sql)
    return f"{keyword} {table(found.groups()[-1])}" if found else keyword


def count_trips(fixture: Fixture, endpoint: Endpoint) -> None:
    """Check one answer, then record the SQL statements and Redis round trips of a warm one."""
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    client = Client(HTTP_AUTHORIZATION=f"Token {fixture.token}")
    problem = wrong_answer(endpoint, call(client, endpoint))
    if problem:
        raise RuntimeError(f"{endpoint.label}: {problem}")
    with CaptureQueriesContext(connection) as queries, count_redis() as trips:
        call(client, endpoint)
    endpoint.sql = [statement_name(query["sql"]) for query in queries]
    endpoint.redis_trips, endpoint.redis = len(trips), trips.describe()


def count_all_trips(fixture: Fixture, all_endpoints: list[Endpoint]) -> bool:
    ok = True
    for endpoint in all_endpoints:
        try:
            count_trips(fixture, endpoint)
        except Exception as exc:
            if endpoint.label == BASELINE:
                raise
            endpoint.status = report_our_failure(endpoint.label, exc)
            ok = False
    return ok


# --- load ---------------------------------------------------------------------------------


def measure_load(fixture: Fixture, all_endpoints: list[Endpoint], log_dir: Path) -> bool:
    """Load every endpoint that answered in-process; ``False`` when one of the API's failed."""
    server = ApiServer("api", "", "", "")
    work = [endpoint for endpoint in all_endpoints if not endpoint.status]
    extra = [
        f"--header=Authorization: Token {fixture.token}",
        "--header=Content-Type: application/json",
        f"--body={MESSAGE_BODY}",
    ]
    print(
        f"\nload: {len(work)} windows x {ROUNDS} rounds of {SECONDS:g} s, "
        f"{CLIENTS} process(es) x {THREADS} connections, then x {LATENCY_THREADS}",
        flush=True,
    )
    try:
        with gunicorn(server, log_dir / "gunicorn-api.log") as port:
            server.port = port
            schedule = [(server, endpoint.path) for endpoint in work]
            reports = run_load(schedule, extra, rounds=ROUNDS, seconds=SECONDS)
            latency_reports = run_load(
                schedule, [*extra, f"--threads={LATENCY_THREADS}"], rounds=ROUNDS, seconds=SECONDS
            )
    except RuntimeError as exc:  # gunicorn did not start (sessions_app code?) or the load failed
        print(f"\napi: {exc}", flush=True)
        for endpoint in work:
            endpoint.status = "FAILED: no load measured (see above)"
        return False
    ok = True
    for index, endpoint in enumerate(work):
        endpoint.load = combine(reports, index)
        endpoint.latency = combine(latency_reports, index)
        problem = problems(endpoint.load) or problems(endpoint.latency)
        if problem and endpoint.label == BASELINE:
            raise RuntimeError(f"{BASELINE}: {problem}")
        if problem:
            print(f"  {endpoint.label}: error (sessions_app code?): {problem}", flush=True)
            endpoint.status = f"FAILED: {problem}"[:200]
            ok = False
    return ok


# --- output -------------------------------------------------------------------------------


def ratio(endpoint: Endpoint, bare: Endpoint) -> float | None:
    a, b = endpoint.load, bare.load
    if endpoint.status or not a or not b or not all(b.rates):
        return None
    return paired_ratio(a.rates, b.rates)


def print_table(label: str, all_endpoints: list[Endpoint]) -> None:
    bare = all_endpoints[0]
    width = max(len(endpoint.label) for endpoint in all_endpoints)
    print(
        f"\nREST API on {label}: gunicorn {WORKERS} sync workers on {HOST}, "
        f"{CLIENTS * THREADS} client connections ({CLIENTS} process(es) x {THREADS} threads), "
        f"median of {ROUNDS} rounds of {SECONDS:g} s per endpoint; latency also with "
        f"{CLIENTS * LATENCY_THREADS} connection(s), one per worker"
    )
    queued, alone = f"@{CLIENTS * THREADS}", f"@{CLIENTS * LATENCY_THREADS}"
    header = (
        f"{'endpoint':<{width}}  {'ops/s':>7}  {'p50' + queued:>7}  {'p99' + queued:>7}  "
        f"{'p50' + alone:>7}  {'p99' + alone:>7}  {'vs bare':>7}  {'SQL':>3}  {'Redis':>5}"
    )
    print(header)
    print("-" * len(header))
    for endpoint in all_endpoints:
        load, latency = endpoint.load, endpoint.latency
        if endpoint.status or load is None or latency is None:
            print(f"{endpoint.label:<{width}}  {endpoint.status or 'not measured'}")
            continue
        value = ratio(endpoint, bare)
        shown = f"{value:.2f}x" if value is not None else "-"
        print(
            f"{endpoint.label:<{width}}  {load.rate:>7,.0f}  {load.p50_ms:>7.1f}  "
            f"{load.p99_ms:>7.1f}  {latency.p50_ms:>7.1f}  {latency.p99_ms:>7.1f}  "
            f"{shown:>7}  {len(endpoint.sql):>3}  {endpoint.redis_trips:>5}"
        )
    print("\nOne warm request, in-process (Django test Client): SQL statements, Redis round trips")
    for endpoint in all_endpoints:
        if endpoint.sql or endpoint.redis_trips:
            print(
                f"  {endpoint.label:<{width}}  {' + '.join(endpoint.sql) or '-'}; "
                f"redis: {endpoint.redis}"
            )
    print()
    for name, verdict in targets(all_endpoints):
        print(f"Target: {name}: {verdict}")


def targets(all_endpoints: list[Endpoint]) -> list[tuple[str, str]]:
    by_label = {endpoint.label: endpoint for endpoint in all_endpoints}
    found = []
    for label in MESSAGE_PAGES:
        endpoint = by_label[label]
        name = f"{label} p99 < {P99_TARGET_MS:g} ms"
        if endpoint.status or endpoint.latency is None:
            found.append((name, endpoint.status or "n/a"))
            continue
        p99 = endpoint.latency.p99_ms
        found.append((name, f"{p99:.1f} ms: {'PASS' if p99 < P99_TARGET_MS else 'MISS'}"))
    value = ratio(by_label[POST], by_label[BASELINE])
    name = f"{POST} >= {BASELINE} / 3"
    if value is None:
        found.append((name, by_label[POST].status or "n/a"))
    else:
        verdict = "PASS" if value >= POST_TARGET else "MISS"
        found.append((name, f"{value:.2f}x (needs {POST_TARGET:.2f}x): {verdict}"))
    return found


def result_rows(label: str, all_endpoints: list[Endpoint]) -> list[Row]:
    bare = all_endpoints[0]
    rows = []
    for endpoint in all_endpoints[1:]:
        scenario = f"api: {endpoint.label}"
        load = endpoint.load
        if endpoint.status or load is None or bare.load is None:
            rows.append(Row(scenario, label, None, None, BASELINE, "req/s", endpoint.status))
            continue
        alone = endpoint.latency
        note = (
            f"p50 {load.p50_ms:.1f} ms, p99 {load.p99_ms:.1f} ms (bare: p50 "
            f"{bare.load.p50_ms:.1f}, p99 {bare.load.p99_ms:.1f}); one connection per worker: "
            f"p50 {alone.p50_ms:.1f} ms, p99 {alone.p99_ms:.1f} ms; per request "
            f"{len(endpoint.sql)} SQL, {endpoint.redis_trips} Redis"
        )
        rows.append(Row(scenario, label, load.rate, bare.load.rate, BASELINE, "req/s", note))
    for name, verdict in targets(all_endpoints):
        rows.append(Row(f"api: target {name}", label, None, None, "", note=verdict))
    return rows


# --- main ---------------------------------------------------------------------------------


def start() -> tuple[str, str]:
    """Django on a migrated, empty database: ``(backend label, "")``, or why it cannot run."""
    from django.db import OperationalError

    client, reason = redis_client()
    if client is None:
        return "postgresql+redis", reason
    try:
        vendor = setup_django()
    except OperationalError as exc:
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else repr(exc)
        return "postgresql+redis", f"database unreachable ({first_line})"
    return f"{vendor}+redis", ""


@contextmanager
def timed(what: str) -> Iterator[None]:
    started = time.perf_counter()
    yield
    print(f"  {what} in {time.perf_counter() - started:.1f} s", flush=True)


def main() -> int:
    signal.signal(signal.SIGTERM, on_sigterm)
    os.environ["DJANGO_SETTINGS_MODULE"] = SETTINGS
    # Run alone, the script uses the services run.py gives it.
    os.environ.setdefault("DATABASE_URL", POSTGRES_URL)
    os.environ.setdefault("REDIS_URL", REDIS_URL)
    os.environ.setdefault("BENCH_REDIS_URL", REDIS_URL)
    label, skip = start()
    if skip:
        print(f"api on {label}: skipped: {skip}")
        emit([Row("api", label, None, None, "", note=f"skipped: {skip}")])
        return 0
    print(f"api on {label}: REST API v1 requests per second under gunicorn")
    with timed(
        f"seeded a user with {OWNED_SESSIONS:,} sessions, one of {HISTORY_MESSAGES:,} messages"
    ):
        fixture = seed()
    all_endpoints = endpoints(fixture)
    ok = count_all_trips(fixture, all_endpoints)
    with tempfile.TemporaryDirectory(prefix="bench-api-") as log_dir:
        ok &= measure_load(fixture, all_endpoints, Path(log_dir))
    print_table(label, all_endpoints)
    emit(result_rows(label, all_endpoints))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
