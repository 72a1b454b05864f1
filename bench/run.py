"""``make bench``: run every benchmark scenario in a fresh subprocess and print one table.

Each scenario gets its own environment: ``DJANGO_SETTINGS_MODULE=project.settings``, a temp
``VAR_DIR`` (so the demo ``var/db.sqlite3`` is never touched; the SQLite scenarios use a fresh
database file in it), ``DATABASE_URL`` for PostgreSQL (database ``sessions_bench``, made anew
each run) and ``REDIS_URL`` (Redis db 14) for the cached scenarios. Each script migrates and
flushes its database first. Missing services are reported as skipped, with exit code 0.

Scripts: ``bench_messages.py``, ``bench_ttl.py``, ``bench_engine.py`` (session engines: ours vs
Django's ``db`` / ``cache`` / ``cached_db``, on SQLite and PostgreSQL), ``bench_http.py``
(requests/s under gunicorn per session set-up, on PostgreSQL, or SQLite without it) and
``bench_api.py`` (REST API requests/s and latency under gunicorn, on PostgreSQL + Redis) and
``bench_providers.py`` (the OpenAI / Anthropic adapters' overhead per reply against calling the
SDK directly, on a loopback fake LLM server; no database).

Environment overrides: ``BENCH_POSTGRES_URL``, ``BENCH_REDIS_URL``, ``BENCH_SECONDS`` (per run,
default 0.8), ``BENCH_RUNS`` (default 3); ``BENCH_HTTP_*`` (see ``bench_http.py``).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from _common import RESULT_MARKER, RUN_SECONDS, RUNS, Row

BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent
POSTGRES_URL = os.environ.get(
    "BENCH_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/sessions_bench"
)
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/14")
SCENARIO_TIMEOUT = 180
# Environment variables of the caller that would change what a scenario measures.
CLEARED_VARS = ("DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL", "VAR_DIR", "DEBUG")


@dataclass
class Scenario:
    name: str
    script: str
    backend: str
    env: dict[str, str] = field(default_factory=dict)
    skip: str = ""


def check_postgres(url: str) -> str:
    """``""`` when PostgreSQL answers (the database is made anew for each run), else the reason."""
    try:
        import psycopg
        from psycopg import sql
    except ImportError as exc:
        return f"psycopg not installed ({exc})"
    parts = urlsplit(url)
    dbname = parts.path.lstrip("/")
    admin = parts._replace(path="/postgres").geturl()
    try:
        with psycopg.connect(admin, connect_timeout=2, autocommit=True) as conn:
            name = sql.Identifier(dbname)
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(name))
            conn.execute(sql.SQL("CREATE DATABASE {}").format(name))
    except psycopg.Error as exc:
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return f"PostgreSQL unreachable at {parts.hostname}:{parts.port} ({first_line})"
    return ""


def check_redis(url: str) -> str:
    """``""`` when Redis answers, else the reason."""
    import redis

    try:
        redis.Redis.from_url(url, socket_connect_timeout=1).ping()
    except redis.RedisError as exc:
        return f"Redis unreachable at {url} ({exc})"
    return ""


def scenarios(pg_skip: str, redis_skip: str) -> list[Scenario]:
    pg = {"DATABASE_URL": POSTGRES_URL}
    cache = {"REDIS_URL": REDIS_URL}
    # The session-engine scenarios measure the cached engines only when Redis answers, and
    # report them as skipped otherwise (the database-only engines still run).
    maybe_cache = {} if redis_skip else cache
    plus_redis = "" if redis_skip else "+redis"
    # HTTP: one database, PostgreSQL when it answers (closest to production), else SQLite.
    http_db, http_env = ("sqlite", {}) if pg_skip else ("postgresql", pg)
    return [
        Scenario("messages", "bench_messages.py", "sqlite"),
        Scenario("messages", "bench_messages.py", "postgresql", pg, pg_skip),
        Scenario("ttl", "bench_ttl.py", "sqlite"),
        Scenario("ttl", "bench_ttl.py", "sqlite+redis", cache, redis_skip),
        Scenario("ttl", "bench_ttl.py", "postgresql", pg, pg_skip),
        Scenario("ttl", "bench_ttl.py", "postgresql+redis", pg | cache, pg_skip or redis_skip),
        Scenario("engine", "bench_engine.py", "sqlite" + plus_redis, maybe_cache),
        Scenario("engine", "bench_engine.py", "postgresql" + plus_redis, pg | maybe_cache, pg_skip),
        Scenario("http", "bench_http.py", http_db + plus_redis, http_env | maybe_cache),
        Scenario("api", "bench_api.py", "postgresql+redis", pg | cache, pg_skip or redis_skip),
        Scenario("providers", "bench_providers.py", "loopback"),
    ]


def scenario_env(scenario: Scenario, var_dir: Path, redis_skip: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in CLEARED_VARS}
    env.update(
        DJANGO_SETTINGS_MODULE="project.settings",
        VAR_DIR=str(var_dir),
        SESSIONS_LOG_LEVEL="ERROR",
        DEBUG="false",
        PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH", "")])),
        PYTHONUNBUFFERED="1",
    )
    if redis_skip:
        env["BENCH_REDIS_SKIP"] = redis_skip
    else:
        env["BENCH_REDIS_URL"] = REDIS_URL
    env.update(scenario.env)
    return env


def run_scenario(scenario: Scenario, env: dict[str, str]) -> tuple[list[Row], int]:
    """Run one script, echoing its output; returns its rows and exit code.

    Raises ``RuntimeError`` when it printed no result. A script can exit non-zero and still
    print rows (e.g. the engine benchmarks when one of our engines fails): both are kept.
    """
    print(f"\n== {scenario.name} on {scenario.backend}", flush=True)
    started = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, str(BENCH_DIR / scenario.script)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        text=True,
    )
    rows: list[Row] = []
    assert proc.stdout is not None
    for line in proc.stdout:
        if line.startswith(RESULT_MARKER):
            rows = [Row(**row) for row in json.loads(line[len(RESULT_MARKER) :])]
        else:
            print(line, end="", flush=True)
    try:
        code = proc.wait(timeout=SCENARIO_TIMEOUT)
    except subprocess.TimeoutExpired:
        proc.terminate()  # the scripts stop their own children (gunicorn) on SIGTERM
        proc.wait(timeout=30)
        raise
    if not rows:
        raise RuntimeError(f"{scenario.script} on {scenario.backend} exited with {code}")
    print(f"  ({time.perf_counter() - started:.1f} s including start-up and migrate)")
    return rows, code


def fmt(value: float | None) -> str:
    return f"{value:,.0f}" if value is not None else "n/a"


def ratio(row: Row) -> str:
    if row.ops is None or not row.baseline:
        return "n/a"
    return f"{row.ops / row.baseline:.2f}x"


def table_lines(rows: list[Row]) -> list[tuple[str, ...]]:
    lines: list[tuple[str, ...]] = [("scenario", "backend", "ops/s", "baseline ops/s", "ratio")]
    for r in rows:
        if r.ops is None:  # skipped or failed: the reason spans the figure columns
            lines.append((r.scenario, r.backend, r.note))
        else:
            lines.append((r.scenario, r.backend, fmt(r.ops), fmt(r.baseline), ratio(r)))
    return lines


def print_table(rows: list[Row]) -> None:
    lines = table_lines(rows)
    widths = [max(len(line[i]) for line in lines if len(line) == 5) for i in range(5)]
    widths[:2] = [max(len(line[i]) for line in lines) for i in range(2)]
    print()
    for i, line in enumerate(lines):
        cells = [f"{line[0]:<{widths[0]}}", f"{line[1]:<{widths[1]}}"]
        if len(line) == 5:
            cells += [f"{cell:>{widths[j]}}" for j, cell in enumerate(line[2:], start=2)]
        else:
            cells.append(line[2])
        print("  ".join(cells).rstrip())
        if i == 0:
            print("  ".join("-" * w for w in widths))


def print_notes(rows: list[Row]) -> None:
    print("\nNotes:")
    print(
        "  baselines: messages -> raw ORM Message.objects.create loop into a separate "
        "session; ttl -> raw redis-py GET loop on one pooled client (same process, same run)."
    )
    print(
        "  engine -> ours (sessions_app.engine) vs Django's session engine in the same process: "
        "cached variant vs cached_db, database-only vs db; PASS/MISS uses the median of the "
        "per-run ratios (each run of ours next to its baseline's), the ratio column the "
        "ratio of the medians."
    )
    print(
        "  http -> requests/s under gunicorn (2 sync workers) of ours (middleware + engine) vs "
        "Django's SessionMiddleware with cached_db / db; warm read = SQL queries and Redis "
        "round trips of one read-only request."
    )
    print(
        "  api -> REST API requests/s under gunicorn (2 sync workers, token auth, no throttling) "
        "vs a bare Django JsonResponse view on the same server; p50/p99 latency in the notes."
    )
    print(
        "  providers -> replies/s of our adapter (provider.complete / iterating provider.stream) "
        "vs the SDK called directly with the same request body, both on one loopback fake LLM "
        "server; the note gives the overhead per reply (target < 2 ms)."
    )
    print("  messages ops/s = messages stored per second (a mock user turn stores 2).")
    for row in rows:
        if row.ops is not None and row.note:
            print(f"  {row.scenario} [{row.backend}]: {row.note}")
    print(
        f"  each figure: median of {RUNS} runs of {RUN_SECONDS:g} s after a warm-up, "
        "interleaved with its baseline; ratio = ops / baseline (higher is better)."
    )
    print(
        "  settings: project.settings defaults (SESSIONS_APP MIDDLEWARE includes "
        "sessions_app.pipeline.LoggingMiddleware; mock provider, no delay), with "
        "SESSIONS_LOG_LEVEL=ERROR so its lines are not emitted, and DEBUG=false so Django "
        "does not record every SQL query. Cache: none unless REDIS_URL (Redis db 14)."
    )


def main() -> int:
    os.chdir(ROOT)
    pg_skip = check_postgres(POSTGRES_URL)
    redis_skip = check_redis(REDIS_URL)
    rows: list[Row] = []
    failed = False
    with tempfile.TemporaryDirectory(prefix="sessions-bench-") as tmp:
        for index, scenario in enumerate(scenarios(pg_skip, redis_skip)):
            if scenario.skip:
                print(f"\n== {scenario.name} on {scenario.backend}: skipped: {scenario.skip}")
                rows.append(
                    Row(
                        scenario.name,
                        scenario.backend,
                        None,
                        None,
                        "",
                        note=f"skipped: {scenario.skip}",
                    )
                )
                continue
            var_dir = Path(tmp) / f"{index}-{scenario.name}-{scenario.backend}"
            var_dir.mkdir()
            try:
                new_rows, code = run_scenario(scenario, scenario_env(scenario, var_dir, redis_skip))
                rows += new_rows
                if code:
                    failed = True
                    note = f"FAILED: {scenario.script} exited with {code} (see its output above)"
                    print(f"  {note}", file=sys.stderr)
                    rows.append(Row(scenario.name, scenario.backend, None, None, "", note=note))
            except (RuntimeError, subprocess.TimeoutExpired) as exc:
                failed = True
                print(f"  FAILED: {exc}", file=sys.stderr)
                rows.append(
                    Row(scenario.name, scenario.backend, None, None, "", note=f"FAILED: {exc}")
                )
    print_table(rows)
    print_notes(rows)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
