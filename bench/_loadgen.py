"""Bounded HTTP load generator for ``bench_http.py`` (standard library only).

Started as a separate process (possibly several in parallel). Each of ``--threads`` threads
keeps one ``http.client`` connection per server (HTTP/1.1, keep-alive when the server allows
it; the client reconnects when the server closes, as gunicorn's sync worker does after every
response) and, for a server with sessions, one session of its own: it calls ``/write`` once,
keeps the cookies and checks every answer (``/read`` must return the session's ``visits``,
``/write`` the next count).

The work is a list of slots (``--slot label,port,path,session``) run ``--rounds`` times in
order, each for ``--seconds``, on a wall-clock schedule that starts at ``--start-at``: slot
``k`` of round ``r`` runs in window ``start_at + (r * len(slots) + k) * (seconds + gap)``.
Parallel processes thus load the same server at the same time, and the runs of set-ups that
are compared are interleaved. A slot stops early after ``--max-requests`` (per process).

A slot's path may start with a method (``POST /api/...``; default ``GET``); ``--header``
adds a header to every request and ``--body`` is the body of every request that is not a GET.
Any 2xx answer counts as a success.

Prints one JSON object: per slot, the requests / errors / wrong answers of each round,
connections opened, p50 / p99 latency (ms) and the first failures.
"""

from __future__ import annotations

import argparse
import http.client
import json
import threading
import time
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from typing import Any

HOST = "127.0.0.1"
WARMUP_REQUESTS = 3
GAP = 0.1  # seconds between two windows


@dataclass(frozen=True)
class Slot:
    label: str
    port: int
    path: str
    session: bool

    @classmethod
    def parse(cls, text: str) -> Slot:
        label, port, path, session = text.rsplit(",", 3)
        return cls(label, int(port), path, session == "1")


class CountingConnection(http.client.HTTPConnection):
    """An ``HTTPConnection`` that counts the TCP connections it opens."""

    opened = 0

    def connect(self) -> None:
        super().connect()
        self.opened += 1


@dataclass
class Client:
    """One connection (and, with sessions, one session) to one server."""

    port: int
    session: bool
    conn: CountingConnection = field(init=False)
    cookies: dict[str, str] = field(default_factory=dict)
    visits: int = 0
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes | None = None

    def __post_init__(self) -> None:
        self.conn = CountingConnection(HOST, self.port, timeout=10)

    def get(self, path: str) -> tuple[int, str]:
        method, _, target = path.rpartition(" ")
        method = method or "GET"
        headers = {"Host": HOST, **self.headers}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        payload = None if method == "GET" else self.body
        try:
            self.conn.request(method, target, body=payload, headers=headers)
            response = self.conn.getresponse()
            body = response.read().decode()
        except (OSError, http.client.HTTPException):
            self.conn.close()
            raise
        for header in response.headers.get_all("Set-Cookie") or ():
            self.keep_cookies(header)
        return response.status, body

    def keep_cookies(self, header: str) -> None:
        jar: SimpleCookie = SimpleCookie()
        jar.load(header)
        for name, morsel in jar.items():
            if morsel.value and morsel["max-age"] != "0":
                self.cookies[name] = morsel.value
            else:
                self.cookies.pop(name, None)

    def call(self, path: str) -> bool:
        """One request; ``True`` when the answer is what the session says it must be."""
        want = None
        if self.session:
            want = str(self.visits + 1) if path == "/write" else str(self.visits)
        status, body = self.get(path)
        if not 200 <= status < 300:
            raise http.client.HTTPException(f"HTTP {status}")
        if self.session and path == "/write" and body.isdigit():
            self.visits = int(body)
        return want is None or body == want

    def start_session(self) -> None:
        status, body = self.get("/write")
        if status != 200 or body != "1" or not self.cookies:
            raise RuntimeError(f"no session: HTTP {status}, body {body!r}, cookies {self.cookies}")
        self.visits = 1


@dataclass
class Tally:
    """One slot's counts in this process: per round, plus latencies and failures."""

    requests: list[int]
    errors: list[int]
    wrong: list[int]
    latencies: list[float] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    connections: int = 0

    @classmethod
    def empty(cls, rounds: int) -> Tally:
        return cls([0] * rounds, [0] * rounds, [0] * rounds)


class Runner:
    def __init__(self, args: argparse.Namespace) -> None:
        self.slots = [Slot.parse(text) for text in args.slot]
        self.rounds: int = args.rounds
        self.seconds: float = args.seconds
        self.start_at: float = args.start_at
        self.limit = max(1, args.max_requests // args.threads)
        self.tallies = [Tally.empty(self.rounds) for _ in self.slots]
        self.headers = dict(parse_header(text) for text in args.header)
        self.body: bytes | None = None if args.body is None else args.body.encode()
        self.lock = threading.Lock()

    def window(self, round_index: int, slot_index: int) -> tuple[float, float]:
        start = self.start_at + (round_index * len(self.slots) + slot_index) * (self.seconds + GAP)
        return start, start + self.seconds

    def fail(self, index: int, message: str) -> None:
        with self.lock:
            if len(self.tallies[index].failures) < 5:
                self.tallies[index].failures.append(message)

    def prepare(self) -> tuple[dict[int, Client], set[int]]:
        """This thread's clients (sessions made, warm) and the slots that could not start."""
        clients: dict[int, Client] = {}
        broken: set[int] = set()
        for index, slot in enumerate(self.slots):
            try:
                client = clients.get(slot.port)
                if client is None:
                    client = clients[slot.port] = Client(
                        slot.port, slot.session, headers=self.headers, body=self.body
                    )
                    if slot.session:
                        client.start_session()
                for _ in range(WARMUP_REQUESTS):
                    client.call(slot.path)
            except Exception as exc:
                broken.add(index)
                self.fail(index, f"set-up: {exc!r}")
        return clients, broken

    def run_window(self, index: int, client: Client, round_index: int) -> None:
        slot = self.slots[index]
        start, end = self.window(round_index, index)
        time.sleep(max(0.0, start - time.time()))
        requests = errors = wrong = 0
        latencies: list[float] = []
        while requests + errors < self.limit:
            begin = time.time()
            if begin >= end:
                break
            try:
                ok = client.call(slot.path)
            except (OSError, http.client.HTTPException) as exc:
                errors += 1
                self.fail(index, repr(exc))
                continue
            latencies.append(time.time() - begin)
            requests += 1
            wrong += not ok
        with self.lock:
            tally = self.tallies[index]
            tally.requests[round_index] += requests
            tally.errors[round_index] += errors
            tally.wrong[round_index] += wrong
            tally.latencies += latencies

    def thread(self) -> None:
        clients, broken = self.prepare()
        for round_index in range(self.rounds):
            for index, slot in enumerate(self.slots):
                if index not in broken:
                    self.run_window(index, clients[slot.port], round_index)
        with self.lock:
            for index, slot in enumerate(self.slots):
                client = clients.get(slot.port)
                if client is not None:
                    self.tallies[index].connections += client.conn.opened
        for client in clients.values():
            client.conn.close()

    def report(self) -> dict[str, Any]:
        slots = []
        for slot, tally in zip(self.slots, self.tallies, strict=True):
            slots.append(
                {
                    "label": slot.label,
                    "path": slot.path,
                    "requests": tally.requests,
                    "errors": tally.errors,
                    "wrong": tally.wrong,
                    "connections": tally.connections,
                    "p50_ms": percentile(tally.latencies, 0.5) * 1000,
                    "p99_ms": percentile(tally.latencies, 0.99) * 1000,
                    "failures": tally.failures,
                }
            )
        return {"seconds": self.seconds, "slots": slots}


def percentile(values: list[float], fraction: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def parse_header(text: str) -> tuple[str, str]:
    name, _, value = text.partition(":")
    return name.strip(), value.strip()


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--slot", action="append", required=True, help="label,port,path,0|1")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=1.0)
    parser.add_argument("--start-at", type=float, required=True)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--max-requests", type=int, default=100_000)
    parser.add_argument("--header", action="append", default=[], help="'Name: value'")
    parser.add_argument("--body", help="body of the requests that are not a GET")
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    runner = Runner(args)
    threads = [threading.Thread(target=runner.thread, daemon=True) for _ in range(args.threads)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    print(json.dumps(runner.report()), flush=True)


if __name__ == "__main__":
    main()
