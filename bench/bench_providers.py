"""The time our provider adapters add to a reply, against calling the SDK directly.

Both talk to the same fake LLM server on 127.0.0.1 (``sessions_app.testing.fake_llm``, keep-
alive connections) in the same process, in turn. For each scenario the
direct call sends the very request body our adapter sent (read off the fake server's record),
so the difference is the adapter's own work: building the request, the call deadline's httpx2
hooks, reading the reply or the stream into a ``Completion``, error mapping.

* ours: ``provider.complete(request)`` / iterating ``provider.stream(request)``;
* direct: ``client.responses.create(**body)`` (``chat.completions`` / ``messages``) with the
  same SDK options, reading the text and usage (iterating the stream's events).

Scenarios: OpenAI Responses (with a conversation, so one HTTP call a reply), OpenAI Chat
Completions and Anthropic Messages, each non-streamed and streamed (a 12-word reply).
Target (issue 11): under 2 ms per reply. Ours and direct are called in turn (ABAB…), each
call timed on the wall clock; a block's overhead is median(ours) - median(direct), reported as
the median over blocks with their interquartile range: PASS/MISS on that median, or
"inconclusive" when the IQR is wider than the target (a MISS is not an error). No database.
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from _common import ROOT, RUN_SECONDS, RUNS, WARMUP_SECONDS, Row, emit

TARGET_MS = 2.0
BASELINE = "SDK called directly"
SYSTEM = "You are a terse assistant."
HISTORY = [
    ("user", "What is the capital of France?"),
    ("assistant", "Paris."),
    ("user", "And of Italy?"),
    ("assistant", "Rome."),
]
QUESTION = "Name three rivers of Europe, please, with one fact about each of them."
REPLY = "The Danube, the Rhine and the Loire: long, busy and royal, in that order, mostly."
KEY = "sk-bench-not-a-real-key"


@dataclass
class Scenario:
    name: str
    ours: Callable[[], Any]
    direct: Callable[[], Any]


def request(model: str, state: dict[str, Any] | None = None) -> Any:
    from sessions_app.providers import ChatMessage, CompletionRequest

    messages = [ChatMessage(role, text) for role, text in HISTORY]
    messages.append(ChatMessage("user", QUESTION))
    return CompletionRequest(
        model=model, messages=messages, system=SYSTEM, provider_state=state or {}
    )


def consume(events: Any) -> int:
    return sum(1 for _ in events)


def sent_body(server: Any, kind: str, call: Callable[[], Any]) -> dict[str, Any]:
    """Make ``call`` once and return the JSON body it sent for ``kind``."""
    before = len(server.requests_for(kind))
    call()
    body: dict[str, Any] = server.requests_for(kind)[before].body
    return body


def openai_scenarios(server: Any) -> list[Scenario]:
    import openai

    from sessions_app.providers.openai import OpenAIProvider

    options = {"api_key": KEY, "base_url": server.openai_url, "timeout": 30, "max_retries": 2}
    responses = OpenAIProvider(name="openai", **options)
    chat = OpenAIProvider(name="openai-chat", mode="chat", **options)
    client = openai.OpenAI(**options)
    conversation = client.conversations.create().id
    conv_request = request("gpt-4o", {"conversation_id": conversation})
    plain = request("gpt-4o")

    def ours_stream(provider: Any, req: Any) -> Callable[[], int]:
        return lambda: consume(provider.stream(req))

    def direct_response(body: dict[str, Any]) -> Callable[[], Any]:
        return lambda: (lambda r: (r.output_text, r.usage))(client.responses.create(**body))

    def direct_chat(body: dict[str, Any]) -> Callable[[], Any]:
        return lambda: (lambda c: (c.choices[0].message.content, c.usage))(
            client.chat.completions.create(**body)
        )

    def direct_events(create: Callable[..., Any], body: dict[str, Any]) -> Callable[[], int]:
        return lambda: consume(create(**body))

    return [
        Scenario(
            "openai responses",
            lambda: responses.complete(conv_request),
            direct_response(
                sent_body(server, "responses", lambda: responses.complete(conv_request))
            ),
        ),
        Scenario(
            "openai responses stream",
            ours_stream(responses, conv_request),
            direct_events(
                client.responses.create,
                sent_body(server, "responses", ours_stream(responses, conv_request)),
            ),
        ),
        Scenario(
            "openai chat",
            lambda: chat.complete(plain),
            direct_chat(sent_body(server, "chat", lambda: chat.complete(plain))),
        ),
        Scenario(
            "openai chat stream",
            ours_stream(chat, plain),
            direct_events(
                client.chat.completions.create, sent_body(server, "chat", ours_stream(chat, plain))
            ),
        ),
    ]


def anthropic_scenarios(server: Any) -> list[Scenario]:
    import anthropic

    from sessions_app.providers.anthropic import AnthropicProvider

    options = {"api_key": KEY, "base_url": server.anthropic_url, "timeout": 30, "max_retries": 2}
    provider = AnthropicProvider(name="anthropic", **options)
    client = anthropic.Anthropic(**options)
    req = request("claude-sonnet-4-5")
    whole = sent_body(server, "messages", lambda: provider.complete(req))
    streamed = sent_body(server, "messages", lambda: consume(provider.stream(req)))
    return [
        Scenario(
            "anthropic messages",
            lambda: provider.complete(req),
            lambda: (lambda m: (m.content[0].text, m.usage))(client.messages.create(**whole)),
        ),
        Scenario(
            "anthropic messages stream",
            lambda: consume(provider.stream(req)),
            lambda: consume(client.messages.create(**streamed)),
        ),
    ]


def alternating(scenario: Scenario, seconds: float) -> tuple[list[float], list[float]]:
    """Call ours and direct in turn (ABAB…) for ``seconds``: per-call wall times in ms."""
    ours: list[float] = []
    direct: list[float] = []
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        for call, times in ((scenario.ours, ours), (scenario.direct, direct)):
            started = time.perf_counter()
            call()
            times.append(1000 * (time.perf_counter() - started))
    return ours, direct


def quartiles(values: list[float]) -> tuple[float, float, float]:
    q1, q2, q3 = statistics.quantiles(values, n=4, method="inclusive")
    return q1, q2, q3


def measure_scenario(scenario: Scenario) -> Row:
    alternating(scenario, WARMUP_SECONDS)
    # Each block's overhead is median(ours) - median(direct) of calls made in turn, so a slow
    # moment of the machine hits both sides; the spread across blocks says how sure that is.
    blocks = [alternating(scenario, RUN_SECONDS / 2) for _ in range(max(RUNS, 9))]
    overheads = [statistics.median(o) - statistics.median(d) for o, d in blocks]
    q1, overhead, q3 = quartiles(overheads)
    spread = q3 - q1
    ours_ms = statistics.median(statistics.median(o) for o, _ in blocks)
    direct_ms = statistics.median(statistics.median(d) for _, d in blocks)
    if spread > TARGET_MS:
        verdict = f"inconclusive (spread {spread:.2f} ms > {TARGET_MS:g} ms)"
    else:
        verdict = f"{'PASS' if overhead < TARGET_MS else 'MISS'} (< {TARGET_MS:g} ms)"
    note = (
        f"overhead {overhead:+.3f} ms wall a reply, IQR {q1:+.3f}..{q3:+.3f} "
        f"(ours {ours_ms:.2f} ms, direct {direct_ms:.2f} ms): {verdict}"
    )
    print(f"  {scenario.name:<26} {note}")
    return Row(
        f"providers: {scenario.name}",
        "loopback",
        1000 / ours_ms,
        1000 / direct_ms,
        BASELINE,
        "replies/s",
        note,
    )


def main() -> None:
    if str(ROOT) not in sys.path:  # run as ``python bench/bench_providers.py`` too
        sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "project.settings")
    import django

    django.setup()  # settings only: the adapters touch no database
    from sessions_app.testing import FakeLLMServer

    with FakeLLMServer() as server:
        server.reply = REPLY
        print(f"provider adapters vs direct SDK calls, fake server at {server.url}")
        scenarios = openai_scenarios(server) + anthropic_scenarios(server)
        rows = [measure_scenario(scenario) for scenario in scenarios]
    emit(rows)


if __name__ == "__main__":
    main()
