"""Helpers shared by the benchmark scripts: Django set-up, timing and result output.

Each ``bench_*.py`` script runs in its own process (started by ``bench/run.py``) with
``DJANGO_SETTINGS_MODULE``, ``VAR_DIR`` and optionally ``DATABASE_URL`` / ``REDIS_URL`` in
its environment. A script prints human-readable lines, then one machine-readable line
starting with ``RESULT_MARKER`` that ``run.py`` parses.
"""

from __future__ import annotations

import importlib
import json
import os
import statistics
import sys
import time
import traceback
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
RESULT_MARKER = "BENCH_RESULT "

# Timing knobs; BENCH_SECONDS scales every measurement (default 0.8 s per run).
RUN_SECONDS = float(os.environ.get("BENCH_SECONDS", "0.8"))
WARMUP_SECONDS = min(0.3, RUN_SECONDS / 2)
RUNS = max(1, int(os.environ.get("BENCH_RUNS", "3")))

Op = Callable[[], int | None]
Context = Callable[[], AbstractContextManager[Any]]
BENCH_REDIS_DB = 14


@dataclass
class Row:
    """One line of the final table."""

    scenario: str
    backend: str
    ops: float | None
    baseline: float | None
    baseline_name: str
    unit: str = "ops/s"
    note: str = ""


def setup_django(*, flush: bool = True) -> str:
    """Configure Django, migrate the database and (optionally) empty it; returns its vendor."""
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "project.settings")
    import django
    from django.core.management import call_command
    from django.db import connection

    django.setup()
    call_command("migrate", interactive=False, verbosity=0)
    if flush:
        call_command("flush", interactive=False, verbosity=0)
    return connection.vendor


def backend_label(vendor: str, cache: bool) -> str:
    return f"{vendor}+redis" if cache else vendor


def rate(op: Op, seconds: float) -> float:
    """Calls of ``op`` for ``seconds``; returns units per second (``op`` returns units, or 1)."""
    units = 0
    start = time.perf_counter()
    deadline = start + seconds
    now = start
    while now < deadline:
        units += op() or 1
        now = time.perf_counter()
    return units / (now - start)


def measure_samples(
    ops: dict[str, Op],
    contexts: Mapping[str, Context] | None = None,
    *,
    runs: int = RUNS,
    seconds: float = RUN_SECONDS,
) -> dict[str, list[float]]:
    """Warm each op up, then time ``runs`` runs of ``seconds`` each, interleaving the ops.

    Interleaving makes slow drift of a noisy machine hit every op alike. ``contexts`` maps an
    op name to a factory of the context (e.g. ``override_settings``) that op runs in; it is
    entered around each timed run, outside the timing. Prints one line per op.
    """
    contexts = contexts or {}

    def timed(name: str, seconds: float) -> float:
        with contexts.get(name, nullcontext)():
            return rate(ops[name], seconds)

    for name in ops:
        timed(name, WARMUP_SECONDS)
    samples: dict[str, list[float]] = {name: [] for name in ops}
    for _ in range(runs):
        for name in ops:
            samples[name].append(timed(name, seconds))
    for name, values in samples.items():
        spread = ", ".join(f"{v:,.0f}" for v in values)
        print(f"  {name:<34} median {statistics.median(values):>10,.0f}/s  runs: {spread}")
    return samples


def measure(ops: dict[str, Op], contexts: Mapping[str, Context] | None = None) -> dict[str, float]:
    """Median rate of each op over ``RUNS`` interleaved runs (see :func:`measure_samples`)."""
    samples = measure_samples(ops, contexts)
    return {name: statistics.median(values) for name, values in samples.items()}


def paired_ratio(ours: list[float], baseline: list[float]) -> float:
    """Median of the per-run ratios: each run of ``ours`` against the adjacent baseline run."""
    return statistics.median(a / b for a, b in zip(ours, baseline, strict=True))


def emit(rows: Iterable[Row]) -> None:
    """Print the machine-readable result line for ``run.py``."""
    print(RESULT_MARKER + json.dumps([asdict(row) for row in rows]), flush=True)


def redis_client() -> tuple[Any, str]:
    """A pooled client on ``BENCH_REDIS_URL`` and ``""``, or ``None`` and why it is missing."""
    import redis

    url = os.environ.get("BENCH_REDIS_URL", "")
    if not url:
        return None, os.environ.get("BENCH_REDIS_SKIP") or "BENCH_REDIS_URL not set"
    client = redis.Redis.from_url(url, socket_connect_timeout=1)
    try:
        client.ping()
    except redis.RedisError as exc:
        return None, f"Redis unreachable at {url}: {exc}"
    return client, ""


def flush_bench_db(client: Any) -> None:
    """Empty the benchmark db, and only that one: refuse any other db index."""
    db = client.connection_pool.connection_kwargs.get("db", 0)
    if int(db) != BENCH_REDIS_DB:
        raise SystemExit(f"refusing to flush Redis db {db}; benchmarks use db {BENCH_REDIS_DB}")
    client.flushdb()


def resp_command_names(packed: bytes) -> list[str]:
    """Command names in a RESP-packed request (one command, or a pipeline of several)."""
    names: list[str] = []
    pos = 0
    while pos < len(packed) and packed[pos : pos + 1] == b"*":
        end = packed.index(b"\r\n", pos)
        count = int(packed[pos + 1 : end])
        pos = end + 2
        for index in range(count):
            end = packed.index(b"\r\n", pos)
            length = int(packed[pos + 1 : end])
            if index == 0:
                names.append(packed[end + 2 : end + 2 + length].decode(errors="replace").upper())
            pos = end + 2 + length + 2
    return names


@dataclass
class RedisTrips:
    """Round trips to Redis seen by :func:`count_redis`: one entry per packet sent."""

    trips: list[list[str]] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.trips)

    def describe(self) -> str:
        return " + ".join("/".join(names) or "?" for names in self.trips) or "-"


@contextmanager
def count_redis() -> Iterator[RedisTrips]:
    """Record every request redis-py sends (a pipeline is one round trip) in this process."""
    from redis.connection import AbstractConnection

    seen = RedisTrips()
    original = AbstractConnection.send_packed_command

    def counting(self: Any, command: Any, check_health: bool = True) -> Any:
        chunks = [command] if isinstance(command, bytes | str) else list(command)
        packed = b"".join(c.encode() if isinstance(c, str) else bytes(c) for c in chunks)
        seen.trips.append(resp_command_names(packed))
        return original(self, command, check_health)

    AbstractConnection.send_packed_command = counting  # type: ignore[method-assign]
    try:
        yield seen
    finally:
        AbstractConnection.send_packed_command = original  # type: ignore[method-assign]


@contextmanager
def count_queries() -> Iterator[list[str]]:
    """Yield a list that ends up holding the first keyword of every SQL statement run."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    statements: list[str] = []
    with CaptureQueriesContext(connection) as captured:
        yield statements
    statements.extend(query["sql"].split(None, 1)[0].upper() for query in captured)


def describe_statements(statements: list[str]) -> str:
    return " + ".join(statements) or "-"


def import_status(dotted: str) -> str:
    """``""`` when ``dotted`` (a module, or ``module.Class``) imports; ``"missing"`` when the
    module does not exist; else the error (its traceback is printed)."""
    module, _, name = dotted.rpartition(".")
    if not name[:1].isupper():
        module, name = dotted, ""
    try:
        imported = importlib.import_module(module)
        if name:
            getattr(imported, name)
    except ModuleNotFoundError as exc:
        if exc.name == module:
            return "missing"
        traceback.print_exc()
        return f"FAILED: importing {dotted} raised {exc!r} (traceback above)"
    except Exception as exc:
        traceback.print_exc()
        return f"FAILED: importing {dotted} raised {exc!r} (traceback above)"
    return ""


def redis_cache_status(alias: str) -> str:
    """``""`` when cache ``alias`` is django-redis on a live Redis (flushed), else why not."""
    from django.conf import settings

    client, reason = redis_client()
    if client is None:
        return f"skipped: {reason}"
    backend = settings.CACHES[alias]["BACKEND"]
    if not backend.startswith("django_redis"):
        return f"skipped: cache {alias!r} is {backend}, not django-redis (REDIS_URL unset)"
    flush_bench_db(client)
    return ""


def report_our_failure(label: str, exc: BaseException) -> str:
    """Print the traceback of an error raised by sessions_app code; returns the status line."""
    print(f"\n{label}: error from sessions_app code:", flush=True)
    traceback.print_exc()
    return f"FAILED: {exc!r} (traceback above)"
