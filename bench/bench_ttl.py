"""``validate_session`` / ``get_session_info`` throughput vs a raw redis-py ``GET`` loop.

The cache is whatever the project settings give: ``REDIS_URL`` set means django-redis with
``SESSIONS_APP["CACHE_ALIAS"] = "default"``; unset means no cache (every call reads the
database). The baseline is ``redis.Redis.from_url(BENCH_REDIS_URL).get(key)`` on one pooled
client, measured in the same process when Redis is reachable.

Calls go round-robin over a small pool of live sessions. ``validate_session`` writes
``last_activity`` at most once per ``TOUCH_INTERVAL`` (60 s by default), and the sessions are
fresh, so in steady state both calls are reads: from Redis with the cache, from the DB without.
"""

from __future__ import annotations

import itertools
import pickle
from typing import Any

from _common import (
    Op,
    Row,
    backend_label,
    emit,
    flush_bench_db,
    measure,
    redis_client,
    setup_django,
)

POOL_SIZE = 20
BASELINE = "raw redis-py GET"
BASELINE_KEY = "bench:ttl:baseline"


def queries_per_call(op: Op) -> int:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        op()
    return len(captured)


def build_ops(client: Any) -> dict[str, Op]:
    from sessions_app.manager import SessionManager

    manager = SessionManager()
    ids = [manager.allocate_session(user_id=f"bench-{i}") for i in range(POOL_SIZE)]
    validate_ids = itertools.cycle(ids)
    info_ids = itertools.cycle(ids)

    def validate() -> int:
        if not manager.validate_session(next(validate_ids)):
            raise RuntimeError("validate_session returned False for a live session")
        return 1

    def info() -> int:
        if manager.get_session_info(next(info_ids)) is None:
            raise RuntimeError("get_session_info returned None for a live session")
        return 1

    ops: dict[str, Op] = {"validate_session": validate, "get_session_info": info}
    sample = manager.get_session_info(ids[0])
    if client is not None:
        client.set(BASELINE_KEY, pickle.dumps(sample))

        def raw_get() -> int:
            client.get(BASELINE_KEY)
            return 1

        ops[BASELINE] = raw_get
    return ops


def main() -> None:
    vendor = setup_django()
    from sessions_app.conf import app_settings

    cached = bool(app_settings.CACHE_ALIAS)
    client, reason = redis_client()
    if cached:
        if client is None:
            raise SystemExit(f"REDIS_URL is set but the baseline Redis is missing: {reason}")
        flush_bench_db(client)
    label = backend_label(vendor, cached)
    print(f"ttl on {label} (cache {'on' if cached else 'off'}): calls per second")
    ops = build_ops(client)
    for _ in range(POOL_SIZE):  # one pass over the pool fills the cache before counting
        ops["validate_session"]()
        ops["get_session_info"]()
    names = ("validate_session", "get_session_info")
    queries = {name: queries_per_call(ops[name]) for name in names}
    results = measure(ops)
    baseline = results.get(BASELINE)
    rows = []
    for name in names:
        note = f"DB queries per call after warm-up: {queries[name]}"
        if baseline is None:
            note += f"; baseline skipped: {reason}"
        rows.append(Row(f"ttl: {name}", label, results[name], baseline, BASELINE, "calls/s", note))
    emit(rows)


if __name__ == "__main__":
    main()
