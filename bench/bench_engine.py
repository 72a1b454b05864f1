"""Session engine throughput: ``sessions_app.engine`` vs Django's ``db``, ``cache``, ``cached_db``.

Operations, each on a fresh ``SessionStore`` object (no in-object caching):

* create: ``s = SessionStore(); s["k"] = "v"; s.save()`` (a new session every call);
* load: ``SessionStore(key).load()`` over a pool of live sessions (cached engines: warm cache);
* update: ``s = SessionStore(key); s["visits"] = s.get("visits", 0) + 1; s.save()`` (load,
  change a value, save) over the same pool.

Engines, each measured under ``override_settings`` in this one process (so the runs of all
engines are interleaved and drift hits them alike): Django ``db``; Django ``cache`` and
``cached_db`` with ``SESSION_CACHE_ALIAS`` on the django-redis cache; ours database-only
(``SESSIONS_APP["CACHE_ALIAS"] = None``) and cached (``CACHE_ALIAS`` = the django-redis cache).
The cache is the project's ``default`` cache, django-redis on ``REDIS_URL`` (Redis db 14).

Targets (issue 3, ratios from this run): cached load >= 1.0 x cached_db; create >= 1.3 x
cached_db; update >= 1.5 x cached_db; database-only load within 10 % of ``db`` (>= 0.9 x).
A MISS is printed, never an error.
"""

from __future__ import annotations

import importlib
import itertools
import statistics
import sys
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Any

from _common import (
    RUN_SECONDS,
    RUNS,
    Op,
    Row,
    count_queries,
    count_redis,
    describe_statements,
    emit,
    import_status,
    measure_samples,
    paired_ratio,
    redis_cache_status,
    report_our_failure,
    setup_django,
)

POOL_SIZE = 100
# Shorter, more numerous runs than the other scripts (same total time): the ratios are the
# medians of per-run ratios, and more pairs close together in time resist a noisy machine.
ENGINE_RUNS = RUNS * 3
ENGINE_RUN_SECONDS = RUN_SECONDS / 3
CACHE_ALIAS = "default"
OPERATIONS = ("create", "load", "update")
OURS_MODULE = "sessions_app.engine"
DB, CACHE, CACHED_DB, OURS_DB, OURS_CACHED = (
    "django db",
    "django cache",
    "django cached_db",
    "ours (db only)",
    "ours (cached)",
)


@dataclass(frozen=True)
class Target:
    label: str
    operation: str
    ours: str
    baseline: str
    minimum: float


TARGETS = (
    Target("cached load", "load", OURS_CACHED, CACHED_DB, 1.0),
    Target("create", "create", OURS_CACHED, CACHED_DB, 1.3),
    Target("update", "update", OURS_CACHED, CACHED_DB, 1.5),
    Target("db-only load", "load", OURS_DB, DB, 0.9),
)


@dataclass
class Engine:
    label: str
    module: str
    cached: bool
    ours: bool
    status: str = ""  # "" = measured; else why not ("skipped: ...", "not available yet", ...)
    samples: dict[str, list[float]] = field(default_factory=dict)
    rates: dict[str, float] = field(default_factory=dict)
    trips: dict[str, str] = field(default_factory=dict)

    def settings(self) -> dict[str, Any]:
        from django.conf import settings

        overrides: dict[str, Any] = {"SESSION_ENGINE": self.module}
        if self.cached and not self.ours:
            overrides["SESSION_CACHE_ALIAS"] = CACHE_ALIAS
        if self.ours:
            alias = CACHE_ALIAS if self.cached else None
            overrides["SESSIONS_APP"] = {**settings.SESSIONS_APP, "CACHE_ALIAS": alias}
        return overrides

    def context(self) -> AbstractContextManager[Any]:
        from django.test.utils import override_settings

        return override_settings(**self.settings())


def engines() -> list[Engine]:
    return [
        Engine(DB, "django.contrib.sessions.backends.db", cached=False, ours=False),
        Engine(CACHE, "django.contrib.sessions.backends.cache", cached=True, ours=False),
        Engine(CACHED_DB, "django.contrib.sessions.backends.cached_db", cached=True, ours=False),
        Engine(OURS_DB, OURS_MODULE, cached=False, ours=True),
        Engine(OURS_CACHED, OURS_MODULE, cached=True, ours=True),
    ]


def build_ops(store_class: Callable[..., Any]) -> dict[str, Op]:
    """The three operations on a pool of ``POOL_SIZE`` live sessions made by ``store_class``."""
    keys: list[str] = []
    for _ in range(POOL_SIZE):
        store = store_class()
        store["k"] = "v"
        store.save()
        keys.append(store.session_key)
    for key in keys:  # fills the cache of cached engines; checks every session is readable
        if store_class(key).load().get("k") != "v":
            raise RuntimeError(f"{store_class.__module__}: a session just saved did not load")
    load_keys = itertools.cycle(keys)
    update_keys = itertools.cycle(keys)

    def create() -> int:
        store = store_class()
        store["k"] = "v"
        store.save()
        return 1

    def load() -> int:
        if not store_class(next(load_keys)).load():
            raise RuntimeError(f"{store_class.__module__}: load of a live session returned {{}}")
        return 1

    def update() -> int:
        key = next(update_keys)
        store = store_class(key)
        store["visits"] = store.get("visits", 0) + 1
        store.save()
        if store.session_key != key:
            raise RuntimeError(f"{store_class.__module__}: update issued a new key")
        return 1

    return {"create": create, "load": load, "update": update}


def round_trips(op: Op) -> str:
    """SQL statements and Redis round trips of one call of ``op``."""
    with count_queries() as statements, count_redis() as trips:
        op()
    return f"SQL: {describe_statements(statements)}; Redis: {trips.describe()}"


def prepare(engine: Engine, ops: dict[str, Op], contexts: dict[str, Any]) -> None:
    """Build ``engine``'s ops into ``ops`` / ``contexts`` and record its round trips."""
    with engine.context():
        store_class = importlib.import_module(engine.module).SessionStore
        built = build_ops(store_class)
        for name, op in built.items():
            op()  # one call before counting: connections are open, caches warm
            engine.trips[name] = round_trips(op)
    for name, op in built.items():
        ops[f"{engine.label}: {name}"] = op
        contexts[f"{engine.label}: {name}"] = engine.context


def prepare_all(all_engines: list[Engine]) -> tuple[dict[str, Op], dict[str, Any], bool]:
    """Ops and contexts of every engine that can run; the flag says an engine failed."""
    ops: dict[str, Op] = {}
    contexts: dict[str, Any] = {}
    failed = False
    for engine in all_engines:
        if engine.status:
            continue
        try:
            prepare(engine, ops, contexts)
        except Exception as exc:
            if not engine.ours:
                raise
            engine.status = report_our_failure(engine.label, exc)
            failed = True
            for name in OPERATIONS:
                ops.pop(f"{engine.label}: {name}", None)
    # Grouped by operation: the runs that a ratio compares are adjacent in time.
    ordered = {n: ops[n] for name in OPERATIONS for n in ops if n.endswith(f": {name}")}
    return ordered, contexts, failed


def fmt(value: float | None) -> str:
    return f"{value:,.0f}" if value is not None else "n/a"


def ratio(engines_by_label: dict[str, Engine], target: Target) -> float | None:
    """Median of the per-run ratios ours / baseline (``None`` if either was not measured)."""
    ours = engines_by_label[target.ours].samples.get(target.operation)
    base = engines_by_label[target.baseline].samples.get(target.operation)
    return paired_ratio(ours, base) if ours and base else None


def print_engine_table(title: str, all_engines: list[Engine]) -> None:
    """engine, create/s, load/s, update/s; an engine not measured shows why instead."""
    width = max(len(engine.label) for engine in all_engines)
    print(f"\n{title}")
    print(f"{'engine':<{width}}  {'create/s':>9}  {'load/s':>9}  {'update/s':>9}")
    print(f"{'-' * width}  {'-' * 9}  {'-' * 9}  {'-' * 9}")
    for engine in all_engines:
        if engine.status:
            print(f"{engine.label:<{width}}  {engine.status}")
        else:
            figures = "  ".join(f"{fmt(engine.rates[name]):>9}" for name in OPERATIONS)
            print(f"{engine.label:<{width}}  {figures}")


def print_results(label: str, all_engines: list[Engine]) -> None:
    by_label = {engine.label: engine for engine in all_engines}
    print_engine_table(
        f"Session engines on {label}, operations/s"
        f" (median of {ENGINE_RUNS} runs of {ENGINE_RUN_SECONDS:.2g} s)",
        all_engines,
    )
    print("\nRound trips of one call (after warm-up):")
    for engine in all_engines:
        for name in OPERATIONS if not engine.status else ():
            print(f"  {engine.label:<16} {name:<6}  {engine.trips[name]}")
    print("\nTargets (ours / Django: median of the per-run ratios, same run):")
    for target in TARGETS:
        value = ratio(by_label, target)
        verdict = "n/a" if value is None else ("PASS" if value >= target.minimum else "MISS")
        shown = f"{value:.2f}x" if value is not None else "n/a"
        print(
            f"  {target.label:<13} {target.ours + ' / ' + target.baseline:<35}"
            f" {shown:>6}  target >= {target.minimum:.2f}x  {verdict}"
        )


def result_rows(vendor: str, all_engines: list[Engine]) -> list[Row]:
    by_label = {engine.label: engine for engine in all_engines}
    rows = []
    for target in TARGETS:
        ours, base = by_label[target.ours], by_label[target.baseline]
        scenario = f"engine: {target.label} ({target.ours})"
        missing = ours.status or base.status
        if missing:
            who = target.ours if ours.status else target.baseline
            rows.append(
                Row(scenario, vendor, None, None, target.baseline, note=f"{who}: {missing}")
            )
            continue
        value = ratio(by_label, target) or 0.0
        verdict = "PASS" if value >= target.minimum else "MISS"
        note = (
            f"paired ratio {value:.2f}x vs {target.baseline}, "
            f"target >= {target.minimum:.2f}x: {verdict}"
        )
        rows.append(
            Row(
                scenario,
                vendor,
                ours.rates[target.operation],
                base.rates[target.operation],
                target.baseline,
                note=note,
            )
        )
    return rows


def main() -> int:
    vendor = setup_django()
    all_engines = engines()
    cache_status = redis_cache_status(CACHE_ALIAS)
    ours = import_status(OURS_MODULE)
    if ours == "missing":
        ours = "not available yet (sessions_app/engine.py does not exist)"
    for engine in all_engines:
        if engine.cached and cache_status:
            engine.status = cache_status
        elif engine.ours and ours:
            engine.status = ours
    label = vendor if cache_status else f"{vendor}+redis"
    print(f"session engines on {label}: operations per second")
    ops, contexts, failed = prepare_all(all_engines)
    results = measure_samples(ops, contexts, runs=ENGINE_RUNS, seconds=ENGINE_RUN_SECONDS)
    for engine in all_engines:
        if not engine.status:
            engine.samples = {name: results[f"{engine.label}: {name}"] for name in OPERATIONS}
            engine.rates = {name: statistics.median(engine.samples[name]) for name in OPERATIONS}
    print_results(label, all_engines)
    emit(result_rows(label, all_engines))
    return 1 if failed or any(e.status.startswith("FAILED") for e in all_engines) else 0


if __name__ == "__main__":
    sys.exit(main())
