"""Requests per second of two tiny session views under gunicorn, for each session engine.

For each set-up below a gunicorn (``--workers 2 --worker-class sync``) is started on
127.0.0.1 at a free port with the bench-only settings ``bench/http_settings.py`` (the demo
settings with only the session middleware, URLconf ``bench/http_urls.py``); all of them are
always stopped at the end. Load comes from ``bench/_loadgen.py`` processes (standard library
``http.client``; a fixed number of connections, each with its own session; fixed windows,
bounded request count):

* ``/read``: ``request.session.get("visits")`` (a read-only request);
* ``/write``: ``request.session["visits"] += 1`` (a save per request).

Set-ups: no session middleware (baseline, ``/read`` only); Django's ``SessionMiddleware``
with the ``db``, ``cache`` and ``cached_db`` engines (django-redis); ours (database-only and
cached) with ``sessions_app.middleware.SessionMiddleware`` (Django's middleware until ours
exists; the output says which ran). The servers run side by side (idle ones cost nothing)
and the load visits them in ``ROUNDS`` rounds of short windows, so the figures compared are
measured next to each other in time; a figure is the median over the rounds.

Then, in this process with Django's test ``Client``, the SQL statements and Redis round trips
of one warm request of each view per set-up (target for ours, cached: a read-only request
makes no database query and at most one Redis round trip).

Environment: ``BENCH_HTTP_SECONDS`` (per window, default 1), ``BENCH_HTTP_ROUNDS`` (default
3), ``BENCH_HTTP_CLIENTS`` (load processes, default one per two CPUs), ``BENCH_HTTP_THREADS``
(connections per process, default 4), ``BENCH_HTTP_MAX_REQUESTS`` (per window and process,
default 100000).
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from _common import (
    Row,
    count_queries,
    count_redis,
    describe_statements,
    emit,
    import_status,
    paired_ratio,
    redis_cache_status,
    report_our_failure,
    setup_django,
)

BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent
HOST = "127.0.0.1"
SECONDS = float(os.environ.get("BENCH_HTTP_SECONDS", "1"))
ROUNDS = max(1, int(os.environ.get("BENCH_HTTP_ROUNDS", "3")))
# One load process per two CPUs: on a 2-CPU machine a second one only takes CPU from gunicorn.
_DEFAULT_CLIENTS = str(max(1, (os.cpu_count() or 2) // 2))
CLIENTS = max(1, int(os.environ.get("BENCH_HTTP_CLIENTS", _DEFAULT_CLIENTS)))
THREADS = max(1, int(os.environ.get("BENCH_HTTP_THREADS", "4")))
MAX_REQUESTS = max(1, int(os.environ.get("BENCH_HTTP_MAX_REQUESTS", "100000")))
WORKERS = 2
START_LEAD = 1.5  # seconds for the load processes to start, make their sessions and warm up
GAP = 0.1  # seconds between windows (as in _loadgen.py)
READY_TIMEOUT = 30.0
CACHE_ALIAS = "default"
DJANGO_MIDDLEWARE = "django.contrib.sessions.middleware.SessionMiddleware"
OURS_MIDDLEWARE = "sessions_app.middleware.SessionMiddleware"
OURS_ENGINE = "sessions_app.engine"
VIEWS = ("/read", "/write")
BASELINE, DB, CACHE, CACHED_DB, OURS_DB, OURS_CACHED = (
    "no session middleware",
    "django db",
    "django cache",
    "django cached_db",
    "ours (db only)",
    "ours (cached)",
)
PAIRS = ((OURS_CACHED, CACHED_DB), (OURS_DB, DB))


@dataclass
class Load:
    """One set-up's results on one view, summed over the load processes."""

    rates: list[float]  # requests/s of each round
    requests: int
    errors: int
    wrong: int
    connections: int
    p50_ms: float
    p99_ms: float
    failures: list[str]

    @property
    def rate(self) -> float:
        return statistics.median(self.rates) if self.rates else 0.0


@dataclass
class Setup:
    label: str
    middleware: str
    engine: str
    cache: str
    ours: bool = False
    status: str = ""  # "" = measured; else why not
    note: str = ""
    port: int = 0
    loads: dict[str, Load] = field(default_factory=dict)
    trips: dict[str, tuple[int, str, int, str]] = field(default_factory=dict)

    @property
    def session(self) -> bool:
        return bool(self.middleware)

    @property
    def views(self) -> tuple[str, ...]:
        return VIEWS if self.session else ("/read",)

    def environ(self) -> dict[str, str]:
        return {
            "BENCH_SESSION_MIDDLEWARE": self.middleware,
            "BENCH_SESSION_ENGINE": self.engine,
            "BENCH_SESSION_CACHE": self.cache,
        }

    def settings(self) -> dict[str, Any]:
        """The same settings as ``http_settings`` derives from :meth:`environ`."""
        from django.conf import settings

        return {
            "MIDDLEWARE": [self.middleware] if self.middleware else [],
            "SESSION_ENGINE": self.engine,
            "SESSION_CACHE_ALIAS": self.cache or CACHE_ALIAS,
            "SESSIONS_APP": {**settings.SESSIONS_APP, "CACHE_ALIAS": self.cache or None},
        }


def setups(ours_middleware: str) -> list[Setup]:
    """In run order: each of ours right after the Django engine it is compared with."""
    backends = "django.contrib.sessions.backends."
    return [
        Setup(BASELINE, "", backends + "db", ""),
        Setup(DB, DJANGO_MIDDLEWARE, backends + "db", ""),
        Setup(OURS_DB, ours_middleware, OURS_ENGINE, "", ours=True),
        Setup(CACHED_DB, DJANGO_MIDDLEWARE, backends + "cached_db", CACHE_ALIAS),
        Setup(OURS_CACHED, ours_middleware, OURS_ENGINE, CACHE_ALIAS, ours=True),
        Setup(CACHE, DJANGO_MIDDLEWARE, backends + "cache", CACHE_ALIAS),
    ]


# --- availability -------------------------------------------------------------------------


def apply_status(all_setups: list[Setup], cache: str, engine: str, middleware: str) -> None:
    """Mark the set-ups that cannot run (and ours running on Django's middleware)."""
    for setup in all_setups:
        if setup.cache and cache:
            setup.status = cache
        elif setup.ours and engine == "missing":
            setup.status = "not available yet (no sessions_app/engine.py)"
        elif setup.ours and engine:
            setup.status = engine
        elif setup.ours and middleware:
            why = "does not exist yet" if middleware == "missing" else "failed to import"
            setup.note = f" (fallback: {OURS_MIDDLEWARE} {why})"


# --- gunicorn -----------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def child_env(extra: dict[str, str]) -> dict[str, str]:
    """The environment of a gunicorn; ``extra`` may name another settings module."""
    env = dict(os.environ)
    env["DJANGO_SETTINGS_MODULE"] = "http_settings"
    env.update(extra)
    env["PYTHONPATH"] = os.pathsep.join(
        filter(None, [str(BENCH_DIR), str(ROOT), os.environ.get("PYTHONPATH", "")])
    )
    return env


def ping(port: int) -> bool:
    conn = http.client.HTTPConnection(HOST, port, timeout=2)
    try:
        conn.request("GET", "/ping")
        return conn.getresponse().status == 200
    except OSError:
        return False
    finally:
        conn.close()


def log_tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def wait_ready(proc: subprocess.Popen[bytes], port: int, log: Path) -> None:
    deadline = time.monotonic() + READY_TIMEOUT
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"gunicorn exited with {proc.returncode}:\n{log_tail(log)}")
        if ping(port):
            return
        time.sleep(0.1)
    raise RuntimeError(f"gunicorn not ready after {READY_TIMEOUT:g} s:\n{log_tail(log)}")


def stop(proc: subprocess.Popen[bytes]) -> None:
    """Graceful stop of a gunicorn we started; kill its process group if it lingers."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)


@contextlib.contextmanager
def gunicorn(setup: Setup, log: Path) -> Iterator[int]:
    """A gunicorn serving ``setup`` on 127.0.0.1; yields its port, always stops it."""
    port = free_port()
    command = [
        sys.executable,
        "-m",
        "gunicorn",
        "http_wsgi:application",
        f"--workers={WORKERS}",
        "--worker-class=sync",
        f"--bind={HOST}:{port}",
        f"--chdir={ROOT}",
        f"--pythonpath={BENCH_DIR}",
        "--log-level=warning",
        "--graceful-timeout=5",
        "--timeout=30",
        "--error-logfile=-",
    ]
    with log.open("wb") as out:
        proc = subprocess.Popen(
            command,
            cwd=ROOT,
            env=child_env(setup.environ()),
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # a Ctrl-C reaches us, and we stop it in order
        )
    try:
        wait_ready(proc, port, log)
        yield port
    finally:
        stop(proc)


def start_servers(stack: contextlib.ExitStack, all_setups: list[Setup], log_dir: Path) -> bool:
    """Start a gunicorn per runnable set-up; ``False`` when one of ours failed to start."""
    ok = True
    for setup in all_setups:
        if setup.status:
            continue
        log = log_dir / f"gunicorn-{setup.label.replace(' ', '_')}.log"
        try:
            setup.port = stack.enter_context(gunicorn(setup, log))
        except RuntimeError as exc:
            if not setup.ours:
                raise
            print(f"\n{setup.label}: gunicorn failed (sessions_app code?):\n{exc}", flush=True)
            setup.status = "FAILED: gunicorn did not start (log above)"
            ok = False
    return ok


# --- load ---------------------------------------------------------------------------------


def slots(all_setups: list[Setup]) -> list[tuple[Setup, str]]:
    """(set-up, view) in run order: all reads, then all writes."""
    return [(s, view) for view in VIEWS for s in all_setups if not s.status and view in s.views]


def run_load(
    work: list[tuple[Setup, str]],
    extra: Sequence[str] = (),
    *,
    rounds: int = ROUNDS,
    seconds: float = SECONDS,
) -> list[dict[str, Any]]:
    """``CLIENTS`` load processes on the schedule of ``work``; returns their reports.

    ``extra``: more ``_loadgen.py`` arguments (``--header``, ``--body``).
    """
    start_at = time.time() + START_LEAD
    command = [
        sys.executable,
        str(BENCH_DIR / "_loadgen.py"),
        f"--rounds={rounds}",
        f"--seconds={seconds}",
        f"--start-at={start_at}",
        f"--threads={THREADS}",
        f"--max-requests={max(1, MAX_REQUESTS // CLIENTS)}",
    ]
    for setup, view in work:
        command.append(f"--slot={setup.label},{setup.port},{view},{int(setup.session)}")
    command += extra
    timeout = START_LEAD + rounds * len(work) * (seconds + GAP) + 60
    procs = [subprocess.Popen(command, stdout=subprocess.PIPE, text=True) for _ in range(CLIENTS)]
    reports = []
    try:
        for proc in procs:
            out, _ = proc.communicate(timeout=timeout)
            if proc.returncode:
                raise RuntimeError(f"load generator exited with {proc.returncode}")
            reports.append(json.loads(out.strip().splitlines()[-1]))
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    return reports


def combine(reports: list[dict[str, Any]], index: int) -> Load:
    """Slot ``index`` summed over the load processes."""
    parts = [report["slots"][index] for report in reports]
    seconds = reports[0]["seconds"]
    per_round = [sum(p["requests"][r] for p in parts) for r in range(len(parts[0]["requests"]))]
    return Load(
        rates=[requests / seconds for requests in per_round],
        requests=sum(per_round),
        errors=sum(sum(p["errors"]) for p in parts),
        wrong=sum(sum(p["wrong"]) for p in parts),
        connections=sum(p["connections"] for p in parts),
        p50_ms=statistics.median(p["p50_ms"] for p in parts),
        p99_ms=max(p["p99_ms"] for p in parts),
        failures=[f for p in parts for f in p["failures"]],
    )


def problems(load: Load) -> str:
    """Why a load is not trustworthy ('' when it is): failures, or sessions not kept."""
    found = []
    if not load.requests:
        found.append(f"no request succeeded: {load.failures[:3]}")
    if load.errors:
        found.append(f"{load.errors} failed requests, e.g. {load.failures[:3]}")
    if load.wrong:
        found.append(f"{load.wrong} answers did not match the session's visits count")
    if load.failures and not found:
        found.append(f"set-up failures: {load.failures[:3]}")
    return "; ".join(found)


def measure_load(all_setups: list[Setup]) -> bool:
    """Load every running set-up; ``False`` when one of ours failed (Django's raise)."""
    work = slots(all_setups)
    print(
        f"\nload: {len(work)} windows x {ROUNDS} rounds of {SECONDS:g} s, "
        f"{CLIENTS} process(es) x {THREADS} connections",
        flush=True,
    )
    reports = run_load(work)
    ok = True
    for index, (setup, view) in enumerate(work):
        load = combine(reports, index)
        rounds = ", ".join(f"{rate:,.0f}" for rate in load.rates)
        print(
            f"  {setup.label:<22} {view:<7} median {load.rate:>7,.0f} req/s  rounds: {rounds}"
            f"  (p50 {load.p50_ms:.1f} ms, p99 {load.p99_ms:.1f} ms)",
            flush=True,
        )
        problem = problems(load)
        if problem and not setup.ours:
            raise RuntimeError(f"{setup.label} {view}: {problem}")
        if problem:
            print(f"  {setup.label} {view}: error (sessions_app code?): {problem}", flush=True)
            setup.status = f"FAILED on {view}: {problem}"[:200]
            ok = False
        setup.loads[view] = load
    print_connections(all_setups)
    return ok


def print_connections(all_setups: list[Setup]) -> None:
    """Whether the server kept connections alive (gunicorn's sync worker does not)."""
    requests = sum(load.requests for s in all_setups for load in s.loads.values())
    # A client's connection count covers all views of its server: count it once per set-up.
    opened = sum(next(iter(s.loads.values())).connections for s in all_setups if s.loads)
    print(
        f"  {opened:,} connections opened for {requests:,} timed requests (plus warm-ups): "
        + (
            "the server closes after each response (gunicorn sync worker), http.client reconnects"
            if opened >= requests
            else "keep-alive honoured"
        )
    )


# --- round trips of one request (in-process) -----------------------------------------------


def count_request(client: Any, view: str) -> tuple[int, str, int, str]:
    with count_queries() as statements, count_redis() as trips:
        response = client.get(view)
    if response.status_code != 200:
        raise RuntimeError(f"{view} answered HTTP {response.status_code}")
    return len(statements), describe_statements(statements), len(trips), trips.describe()


def measure_trips(setup: Setup) -> None:
    """Statements and Redis round trips of one warm ``/read`` and ``/write``."""
    from django.test import Client
    from django.test.utils import override_settings

    with override_settings(**setup.settings()):
        client = Client()
        for view in ("/write", "/read"):  # make the session, then warm the cache
            if client.get(view).status_code != 200:
                raise RuntimeError(f"{setup.label}: {view} failed during warm-up")
        for view in ("/read", "/write"):
            setup.trips[view] = count_request(client, view)


def measure_all_trips(all_setups: list[Setup]) -> bool:
    ok = True
    for setup in all_setups:
        if setup.status or not setup.session:
            continue
        try:
            measure_trips(setup)
        except Exception as exc:
            if not setup.ours:
                raise
            setup.status = report_our_failure(setup.label, exc)
            ok = False
    return ok


# --- output -------------------------------------------------------------------------------


def fmt_rate(setup: Setup, view: str) -> str:
    load = setup.loads.get(view)
    return f"{load.rate:,.0f}" if load else "-"


def ratio(ours: Setup, base: Setup, view: str) -> float | None:
    """Median of the per-round ratios (``None`` when either was not measured)."""
    a, b = ours.loads.get(view), base.loads.get(view)
    if ours.status or base.status or not a or not b or not all(b.rates):
        return None
    return paired_ratio(a.rates, b.rates)


def print_tables(label: str, all_setups: list[Setup]) -> None:
    by_label = {setup.label: setup for setup in all_setups}
    width = max(len(setup.label) for setup in all_setups)
    print(
        f"\nHTTP on {label}: gunicorn {WORKERS} sync workers on {HOST}, "
        f"{CLIENTS * THREADS} client connections ({CLIENTS} process(es) x {THREADS} threads), "
        f"median of {ROUNDS} rounds of {SECONDS:g} s per view"
    )
    header = f"{'set-up':<{width}}  {'read req/s':>10}  {'write req/s':>11}  {'read/baseline':>13}"
    print(f"{header}  middleware")
    print(f"{'-' * len(header)}  ----------")
    for setup in all_setups:
        if setup.status:
            print(f"{setup.label:<{width}}  {setup.status}")
            continue
        vs_base = ratio(setup, by_label[BASELINE], "/read")
        shown = f"{vs_base:.2f}x" if vs_base is not None else "-"
        print(
            f"{setup.label:<{width}}  {fmt_rate(setup, '/read'):>10}  "
            f"{fmt_rate(setup, '/write'):>11}  {shown:>13}  "
            f"{setup.middleware or '-'}{setup.note}"
        )
    print("\nOurs / Django (median of per-round ratios, same run):")
    for ours, other in PAIRS:
        for view in VIEWS:
            value = ratio(by_label[ours], by_label[other], view)
            shown = f"{value:.2f}x" if value is not None else "n/a"
            print(f"  {view:<7} {ours + ' / ' + other:<35} {shown}")
    print("\nOne warm request, in-process (Django test Client):")
    for setup in all_setups:
        for view, (queries, sql, trips, redis) in setup.trips.items():
            print(
                f"  {setup.label:<{width}} {view:<7} queries: {queries} ({sql}), "
                f"redis round trips: {trips} ({redis})"
            )
    verdict = read_target(by_label[OURS_CACHED])
    print(f"\nTarget: ours (cached) warm read, 0 queries and <= 1 Redis round trip: {verdict}")


def read_target(setup: Setup) -> str:
    if setup.status or "/read" not in setup.trips:
        return setup.status or "n/a"
    queries, _, trips, _ = setup.trips["/read"]
    verdict = "PASS" if queries == 0 and trips <= 1 else "MISS"
    return f"queries: {queries}, redis round trips: {trips}: {verdict}"


def result_rows(label: str, all_setups: list[Setup]) -> list[Row]:
    by_label = {setup.label: setup for setup in all_setups}
    rows = []
    for ours, other in PAIRS:
        mine, base = by_label[ours], by_label[other]
        for view in VIEWS:
            scenario = f"http: {view[1:]} ({ours})"
            value = ratio(mine, base, view)
            if value is None:
                who, why = (ours, mine.status) if mine.status else (other, base.status)
                rows.append(Row(scenario, label, None, None, other, "req/s", f"{who}: {why}"))
                continue
            note = f"paired ratio {value:.2f}x vs {other}{mine.note}"
            rows.append(
                Row(
                    scenario,
                    label,
                    mine.loads[view].rate,
                    base.loads[view].rate,
                    other,
                    "req/s",
                    note,
                )
            )
    verdict = read_target(by_label[OURS_CACHED])
    rows.append(Row(f"http: warm read ({OURS_CACHED})", label, None, None, "", note=verdict))
    return rows


# --- main ---------------------------------------------------------------------------------


def on_sigterm(signum: int, frame: Any) -> None:
    raise SystemExit(f"terminated by signal {signum}")  # runs the finally blocks: gunicorns stop


def main() -> int:
    signal.signal(signal.SIGTERM, on_sigterm)
    os.environ["DJANGO_SETTINGS_MODULE"] = "http_settings"
    vendor = setup_django()
    cache_status = redis_cache_status(CACHE_ALIAS)
    engine_status = import_status(OURS_ENGINE)
    middleware_status = import_status(OURS_MIDDLEWARE)
    ours_middleware = DJANGO_MIDDLEWARE if middleware_status else OURS_MIDDLEWARE
    all_setups = setups(ours_middleware)
    apply_status(all_setups, cache_status, engine_status, middleware_status)
    label = vendor if cache_status else f"{vendor}+redis"
    print(f"http on {label}: requests per second under gunicorn")
    if middleware_status:
        print(f"  note: {OURS_MIDDLEWARE} unavailable ({middleware_status}); ours use Django's")
    for setup in all_setups:
        if setup.status:
            print(f"  {setup.label}: {setup.status}")
    ok = not (middleware_status.startswith("FAILED") or engine_status.startswith("FAILED"))
    with tempfile.TemporaryDirectory(prefix="bench-http-") as log_dir:
        with contextlib.ExitStack() as servers:
            ok &= start_servers(servers, all_setups, Path(log_dir))
            ok &= measure_load(all_setups)
        ok &= measure_all_trips(all_setups)
    print_tables(label, all_setups)
    emit(result_rows(label, all_setups))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
