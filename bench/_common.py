"""Helpers shared by the benchmark scripts: Django set-up, timing and result output.

Each ``bench_*.py`` script runs in its own process (started by ``bench/run.py``) with
``DJANGO_SETTINGS_MODULE``, ``VAR_DIR`` and optionally ``DATABASE_URL`` / ``REDIS_URL`` in
its environment. A script prints human-readable lines, then one machine-readable line
starting with ``RESULT_MARKER`` that ``run.py`` parses.
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULT_MARKER = "BENCH_RESULT "

# Timing knobs; BENCH_SECONDS scales every measurement (default 0.8 s per run).
RUN_SECONDS = float(os.environ.get("BENCH_SECONDS", "0.8"))
WARMUP_SECONDS = min(0.3, RUN_SECONDS / 2)
RUNS = max(1, int(os.environ.get("BENCH_RUNS", "3")))

Op = Callable[[], int | None]


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


def measure(ops: dict[str, Op]) -> dict[str, float]:
    """Warm each op up, then take the median of ``RUNS`` runs, interleaving the ops per run.

    Interleaving makes slow drift of a noisy machine hit every op alike.
    """
    for op in ops.values():
        rate(op, WARMUP_SECONDS)
    samples: dict[str, list[float]] = {name: [] for name in ops}
    for _ in range(RUNS):
        for name, op in ops.items():
            samples[name].append(rate(op, RUN_SECONDS))
    for name, values in samples.items():
        spread = ", ".join(f"{v:,.0f}" for v in values)
        print(f"  {name:<34} median {statistics.median(values):>10,.0f}/s  runs: {spread}")
    return {name: statistics.median(values) for name, values in samples.items()}


def emit(rows: Iterable[Row]) -> None:
    """Print the machine-readable result line for ``run.py``."""
    print(RESULT_MARKER + json.dumps([asdict(row) for row in rows]), flush=True)
