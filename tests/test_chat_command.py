"""``manage.py chat``: driven by standard input, and once for real through a pseudo-terminal."""

from __future__ import annotations

import contextlib
import io
import json
import os
import pty
import re
import select
import signal
import subprocess
import sys
import time
import urllib.request

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from sessions_app.exceptions import ProviderError
from sessions_app.manager import SessionManager
from sessions_app.metrics import SessionMetrics
from sessions_app.providers import register_provider, unregister_provider
from sessions_app.providers.mock import MockProvider
from sessions_app.services.chat_console import metric_lines
from sessions_app.testing import (
    FakeLLMServer,
    Usage,
    auth_failure,
    fail,
    slow_stream,
    stream_error,
)
from tests.support.servers import ROOT, manage, scratch_database, server_environ

SESSION_LINE = re.compile(r"^Session (?P<id>[0-9a-f-]{36}) \((?P<provider>\S+) / (?P<model>\S+)\)$")


def chat(*lines: str, **options: object) -> str:
    out = io.StringIO()
    stdin = io.StringIO("".join(f"{line}\n" for line in lines))
    call_command("chat", stdin=stdin, stdout=out, **options)
    return out.getvalue()


def session_id_of(output: str) -> str:
    found = SESSION_LINE.match(output.splitlines()[0])
    assert found, output
    return found["id"]


def stored(session_id: str, sandbox: str | None = None) -> list[tuple[str, str]]:
    session = SessionManager(sandbox).get_session(session_id)
    return [(message.role, message.content) for message in session.get_messages()]


@pytest.fixture
def failing_once():
    """Provider "flaky": its first call fails as a rate-limited provider would, then answers."""
    calls: list[int] = []

    class Flaky(MockProvider):
        def stream(self, request):  # type: ignore[no-untyped-def]
            calls.append(1)
            if len(calls) == 1:
                raise ProviderError(
                    f"Too many requests for key {os.environ['OPENAI_API_KEY']}",
                    provider=self.name,
                    error_code="rate_limited",
                )
            yield from super().stream(request)

    register_provider("flaky", Flaky)
    yield calls
    unregister_provider("flaky")


def test_a_message_is_answered_and_stored(db):
    output = chat("Hello there", "/quit")
    session_id = session_id_of(output)
    assert "assistant> Mock response to: Hello there\n" in output
    assert stored(session_id) == [
        ("user", "Hello there"),
        ("assistant", "Mock response to: Hello there"),
    ]
    assert output.rstrip().endswith("Bye.")


def test_it_starts_on_the_provider_and_model_asked_for(db, settings):
    settings.SESSIONS_APP = {
        "PROVIDERS": {"mock": {}, "echo": {"BACKEND": "sessions_app.providers.mock.MockProvider"}}
    }
    output = chat("Hi", provider="echo", model="big-model", sandbox="team", user="ann")
    found = SESSION_LINE.match(output.splitlines()[0])
    assert found and (found["provider"], found["model"]) == ("echo", "big-model")
    session = SessionManager("team").get_session(found["id"])
    assert (session.provider, session.model, session.user_id) == ("echo", "big-model", "ann")


def test_no_stream_prints_the_whole_reply(db):
    output = chat("Hi", no_stream=True)
    assert "assistant> Mock response to: Hi\n" in output


def test_a_system_message_starts_a_new_session_and_history_shows_it(db):
    output = chat("Hi", "/history", system="Answer briefly.")
    history = output.split("you> ")[2]  # what /history printed
    assert re.findall(r"^\s+(\d+) (\w+): (.*)$", history, flags=re.MULTILINE) == [
        ("1", "system", "Answer briefly."),
        ("2", "user", "Hi"),
        ("3", "assistant", "Mock response to: Hi"),
    ]


def test_resume_shows_the_last_messages_and_continues_the_conversation(db):
    session_id = session_id_of(chat("one", "two", "three", "four"))
    output = chat("five", session_id=session_id)
    assert session_id_of(output) == session_id
    greeting = output.split("you> ")[0]
    assert "… 2 earlier messages" in greeting
    assert "   3 user: two\n" in greeting and "   8 assistant: Mock response to: four\n" in greeting
    assert "   2 assistant" not in greeting
    assert stored(session_id)[-2:] == [("user", "five"), ("assistant", "Mock response to: five")]
    assert len(stored(session_id)) == 10


def test_resume_looks_in_the_sandbox_given(db):
    session_id = session_id_of(chat("hi", sandbox="team"))
    with pytest.raises(CommandError, match="session_not_found"):
        chat("hi", session_id=session_id)
    assert "1 user: hi" in chat(session_id=session_id, sandbox="team")


@pytest.mark.parametrize(
    "option", [{"model": "other"}, {"provider": "mock"}, {"system": "Be brief."}, {"user": "bob"}]
)
def test_options_of_a_new_session_are_refused_on_resume(db, option):
    session_id = session_id_of(chat())
    with pytest.raises(CommandError, match="new session only"):
        chat(session_id=session_id, **option)


def test_an_unknown_provider_is_a_command_error(db):
    with pytest.raises(CommandError, match="nowhere"):
        chat(provider="nowhere")


def test_metrics_report_tokens_times_and_errors(db):
    output = chat("Hi", "/metrics")
    metrics = dict(re.findall(r"^(\w[\w ]+):\s+(.+)$", output.split("you> ")[2], re.MULTILINE))
    assert metrics["messages"] == "2 (1 user, 1 assistant, 0 system)"
    assert re.fullmatch(r"[1-9]\d* \(0 cached, 0 written to cache\)", metrics["input tokens"])
    assert re.fullmatch(r"[1-9]\d* \(0 reasoning\)", metrics["output tokens"])
    assert metrics["provider calls"] == "1"
    assert metrics["provider errors"] == "0"
    assert re.fullmatch(r"\d+ ms", metrics["avg response time"])
    assert metrics["cost"] == "0.000000"  # nobody bills the mock
    assert metrics["time to first token"] == "n/a" or metrics["time to first token"].endswith(" ms")


def sample_metrics(**changes: object) -> SessionMetrics:
    values: dict[str, object] = {
        "total_messages": 2,
        "input_tokens": 120,
        "cached_input_tokens": 100,
        "cache_write_tokens": 20,
        "output_tokens": 40,
        "reasoning_tokens": 7,
        "estimated_cost": 0.0123,
        "avg_response_time_ms": 812.4,
        "avg_time_to_first_token_ms": 95.0,
    }
    return SessionMetrics(session_id="s", **{**values, **changes})  # type: ignore[arg-type]


def test_metrics_show_cached_and_reasoning_tokens_cost_and_time_to_first_token():
    rows = dict(metric_lines(sample_metrics()))
    assert rows["input tokens"] == "120 (100 cached, 20 written to cache)"
    assert rows["output tokens"] == "40 (7 reasoning)"
    assert rows["cost"] == "0.012300"
    assert rows["avg response time"] == "812 ms"
    assert rows["time to first token"] == "95 ms"


def test_an_unknown_cost_reads_unknown_not_zero():
    metrics = sample_metrics(cost_status="unknown", estimated_cost=None)
    assert dict(metric_lines(metrics))["cost"] == "unknown"


def test_a_partly_unknown_cost_says_so():
    metrics = sample_metrics(cost_status="partial", unpriced_replies=2)
    assert dict(metric_lines(metrics))["cost"] == "0.012300 + unknown (2 replies without a price)"


def test_a_failing_turn_prints_one_line_and_the_chat_goes_on(db, failing_once, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-do-not-print-me")
    output = chat("first", "second", "/metrics", provider="flaky")
    assert "error: Too many requests for key [REDACTED] (reason: rate_limited)\n" in output
    assert "sk-test-do-not-print-me" not in output
    assert "Traceback" not in output
    assert "assistant> Mock response to: second\n" in output
    assert re.search(r"^provider errors:\s+1$", output, re.MULTILINE)
    # The user's message of the failed turn is kept, as for every caller.
    assert [content for _, content in stored(session_id_of(output))][:1] == ["first"]


def test_quit_ends_and_nothing_after_it_is_sent(db):
    output = chat("one", "/quit", "two")
    assert [content for role, content in stored(session_id_of(output)) if role == "user"] == ["one"]


def test_end_of_input_ends_cleanly(db):
    assert chat().rstrip().endswith("Bye.")


def test_help_and_unknown_commands(db):
    output = chat("/help", "/nope")
    assert "/history" in output and "/metrics" in output and "/quit" in output
    assert "Unknown command '/nope'" in output


# Real adapters on the fake LLM server -------------------------------------------------------

OPENAI_KEY = "sk-test-chat-openai-key"
ANTHROPIC_KEY = "sk-test-chat-anthropic-key"


@pytest.fixture(scope="module")
def llm_server():
    with FakeLLMServer() as server:
        yield server


@pytest.fixture
def fake_llm(llm_server, settings):
    llm_server.reset()
    options = {"timeout": 5, "max_retries": 1}
    settings.SESSIONS_APP = {
        "PROVIDERS": {
            "mock": {},
            "openai": {
                "OPTIONS": {"api_key": OPENAI_KEY, "base_url": llm_server.openai_url, **options}
            },
            "openai-chat": {
                "BACKEND": "sessions_app.providers.openai.OpenAIProvider",
                "OPTIONS": {
                    "api_key": OPENAI_KEY,
                    "base_url": llm_server.openai_url,
                    "mode": "chat",
                    **options,
                },
            },
            "anthropic": {
                "OPTIONS": {
                    "api_key": ANTHROPIC_KEY,
                    "base_url": llm_server.anthropic_url,
                    **options,
                }
            },
        }
    }
    yield llm_server
    llm_server.reset()


SDK_PROVIDERS = [("openai", "responses"), ("openai-chat", "chat"), ("anthropic", "messages")]


@pytest.mark.parametrize(("provider", "kind"), SDK_PROVIDERS)
@pytest.mark.parametrize("stream", [True, False], ids=["streamed", "whole"])
def test_a_real_adapter_answers_through_the_sdk(db, fake_llm, provider, kind, stream):
    fake_llm.usage = Usage(
        input_tokens=100, output_tokens=20, cached_input_tokens=40, reasoning_tokens=5
    )
    output = chat("Hello there", "/metrics", provider=provider, stream=stream)
    assert "assistant> Echo: Hello there\n" in output
    assert [request.kind for request in fake_llm.requests if request.kind != "conversations"] == [
        kind
    ]
    metrics = output.split("you> ")[2]
    assert re.search(r"^input tokens:\s+100 \(40 cached, ", metrics, re.MULTILINE)
    reasoning = 5 if provider != "anthropic" else 0  # Anthropic reports no reasoning tokens
    assert re.search(rf"^output tokens:\s+20 \({reasoning} reasoning\)$", metrics, re.MULTILINE)
    cost = re.search(r"^cost:\s+(\S+)$", metrics, re.MULTILINE)
    assert cost and float(cost[1]) > 0  # the bundled price table knows the default models
    ttft = re.search(r"^time to first token:\s+(.+)$", metrics, re.MULTILINE)
    assert ttft and (ttft[1].endswith(" ms") if stream else ttft[1] == "n/a")


def test_a_model_without_a_known_price_costs_unknown_not_zero(db, fake_llm):
    output = chat("Hi", "/metrics", provider="openai-chat", model="house-model-7b")
    assert re.search(r"^cost:\s+unknown$", output, re.MULTILINE)


def test_resume_continues_the_providers_own_conversation(db, fake_llm):
    session_id = session_id_of(chat("first", provider="openai"))
    output = chat("second", session_id=session_id)
    assert "assistant> Echo: second\n" in output
    [conversation] = fake_llm.conversations.values()
    turns = fake_llm.requests_for("responses")
    assert [request.body.get("conversation") for request in turns] == [conversation.id] * 2
    assert "first" not in json.dumps(turns[1].body)  # only the new turn is sent


@pytest.mark.parametrize(("provider", "kind"), SDK_PROVIDERS)
def test_a_provider_failure_prints_its_reason_never_the_key_and_goes_on(
    db, fake_llm, provider, kind
):
    fake_llm.script(auth_failure())  # its message echoes the key it was given
    output = chat("one", "two", provider=provider)
    [error] = [line for line in output.splitlines() if "error:" in line]
    assert error.endswith("(reason: auth)")
    assert OPENAI_KEY not in output and ANTHROPIC_KEY not in output
    assert "Traceback" not in output
    # Anthropic's history joins the unanswered "one" and "two" into one user turn.
    assert re.search(r"assistant> Echo: (one\n\n)?two\n", output)


@pytest.mark.parametrize(("provider", "kind"), SDK_PROVIDERS)
def test_a_stream_broken_half_way_keeps_what_arrived(db, fake_llm, provider, kind):
    fake_llm.script(stream_error(after=2))
    output = chat("one two three", "/history", provider=provider)
    assert re.search(r"assistant> Echo: one \nerror: .+ \(reason: \w+\)\nyou> ", output), output
    assert "   2 assistant [incomplete]: Echo: one \n" in output


def test_a_server_error_after_retries_is_unavailable(db, fake_llm):
    fake_llm.script(fail(500), times=2)  # the first try and its one retry
    output = chat("one", "/metrics", provider="anthropic")
    assert "(reason: unavailable)" in output
    assert re.search(r"^provider errors:\s+1$", output, re.MULTILINE)


# A real terminal -------------------------------------------------------------------------


class Terminal:
    """``manage.py chat`` in a pseudo-terminal: what it prints, as it prints it."""

    def __init__(self, env: dict[str, str], *args: str) -> None:
        self.pid, self.fd = pty.fork()
        if self.pid == 0:  # the child: its terminal is the pty
            os.chdir(ROOT)
            os.execve(sys.executable, [sys.executable, "manage.py", "chat", *args], env)
        self.output = ""
        self.reaped = False

    def expect(self, pattern: str, timeout: float = 20.0) -> re.Match[str]:
        deadline = time.monotonic() + timeout
        while not (found := re.search(pattern, self.output)):
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not self._read(remaining):
                raise AssertionError(f"no {pattern!r} in the terminal:\n{self.output}")
        return found

    def _read(self, timeout: float) -> bool:
        ready, _, _ = select.select([self.fd], [], [], timeout)
        if not ready:
            return False
        try:
            chunk = os.read(self.fd, 4096)
        except OSError:  # the child exited and closed the terminal
            return False
        self.output += chunk.decode().replace("\r\n", "\n")
        return bool(chunk)

    def send(self, text: str) -> None:
        os.write(self.fd, text.encode())

    def __enter__(self) -> Terminal:
        return self

    def __exit__(self, *exc_info: object) -> None:
        # Whatever failed, leave no child process and no open pty behind.
        if not self.reaped:
            with contextlib.suppress(ChildProcessError):
                if os.waitpid(self.pid, os.WNOHANG) == (0, 0):
                    os.kill(self.pid, signal.SIGKILL)
                    os.waitpid(self.pid, 0)
            self.reaped = True
        os.close(self.fd)

    def exit_status(self, timeout: float = 20.0) -> int:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self._read(0.1)
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                self.reaped = True
                return os.waitstatus_to_exitcode(status)
        os.kill(self.pid, signal.SIGKILL)
        os.waitpid(self.pid, 0)
        self.reaped = True
        raise AssertionError(f"manage.py chat did not exit:\n{self.output}")


@pytest.fixture(scope="module")
def chat_environ(tmp_path_factory: pytest.TempPathFactory):
    """The demo project (with tests/support/server_settings.py) on a migrated scratch database,
    shared by this module's terminal sessions."""
    directory = tmp_path_factory.mktemp("chat")
    with scratch_database(directory) as database_url:
        env = server_environ(database_url, directory)
        manage(env, "migrate", "--noinput", "-v0")
        yield env


def test_a_terminal_session_streams_is_interrupted_by_ctrl_c_and_ends_with_status_0(chat_environ):
    # slow-mock spreads a reply over 2 s, one word at a time (tests/support/server_settings.py).
    with Terminal(chat_environ, "--provider", "slow-mock") as terminal:
        terminal.expect(r"you> $")
        started = time.monotonic()
        terminal.send("one two three four five six seven eight\n")
        terminal.expect(r"assistant> Mock ")
        first_words = time.monotonic() - started
        terminal.expect(r"assistant> Mock response to: one two three four")
        assert first_words < 1.5, "the first words arrived only with the whole reply"
        terminal.send("\x03")  # Ctrl-C while the reply streams: the reply stops, the chat goes on
        terminal.expect(r"\[interrupted\]\nyou> $")
        terminal.send("/history\n")
        history = terminal.expect(r"2 assistant \[incomplete\]: (Mock response to: one[^\n]*)\n")
        assert "eight" not in history[1]
        terminal.send("\x03")  # Ctrl-C at the prompt ends the chat
        terminal.expect(r"Bye\.")
        assert terminal.exit_status() == 0


def test_a_failed_terminal_expectation_leaves_no_child_nor_pty(chat_environ):
    with (
        pytest.raises(AssertionError, match="no 'never printed'"),
        Terminal(chat_environ, "--no-stream") as terminal,
    ):
        terminal.expect(r"you> $")
        terminal.expect("never printed", timeout=0.2)
    with pytest.raises(ProcessLookupError):
        os.kill(terminal.pid, 0)
    with pytest.raises(OSError):
        os.fstat(terminal.fd)


def test_a_terminal_session_ends_on_ctrl_d(chat_environ):
    with Terminal(chat_environ, "--no-stream") as terminal:
        terminal.expect(r"you> $")
        terminal.send("Hi\n")
        terminal.expect(r"assistant> Mock response to: Hi\n")
        terminal.send("\x04")
        terminal.expect(r"Bye\.")
        assert terminal.exit_status() == 0


@pytest.mark.parametrize("provider", ["openai", "anthropic"])
def test_a_terminal_session_on_a_real_adapter_configured_by_the_environment(
    chat_environ, llm_server, provider
):
    llm_server.reset()
    llm_server.script(slow_stream(0.2))  # a fifth of a second before each word
    env = {
        **chat_environ,
        "OPENAI_API_KEY": OPENAI_KEY,
        "OPENAI_BASE_URL": llm_server.openai_url,
        "ANTHROPIC_API_KEY": ANTHROPIC_KEY,
        "ANTHROPIC_BASE_URL": llm_server.anthropic_url,
    }
    with Terminal(env, "--provider", provider) as terminal:
        terminal.expect(rf"Session \S+ \({provider} / \S+\)")
        terminal.expect(r"you> $")
        terminal.send("one two three four five\n")
        terminal.expect(r"assistant> Echo: one ")
        assert "five" not in terminal.output.split("assistant> ")[-1], "the reply came whole"
        terminal.expect(r"assistant> Echo: one two three four five\n")
        terminal.send("/quit\n")
        terminal.expect(r"Bye\.")
        assert terminal.exit_status() == 0
        assert OPENAI_KEY not in terminal.output and ANTHROPIC_KEY not in terminal.output


def test_the_fake_llm_server_runs_by_hand_without_warnings():
    # For `manage.py chat` against the fake server: `python -m sessions_app.testing`.
    child = subprocess.Popen(
        [sys.executable, "-W", "error", "-m", "sessions_app.testing"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert child.stdout is not None
        line = child.stdout.readline()
        found = re.fullmatch(r"OpenAI base_url (http://127\.0\.0\.1:\d+/v1), .*\n", line)
        assert found, line + (child.stderr.read() if child.poll() is not None else "")
        reply = urllib.request.urlopen(
            urllib.request.Request(
                found[1] + "/chat/completions",
                data=json.dumps(
                    {"model": "m", "messages": [{"role": "user", "content": "hi"}]}
                ).encode(),
                headers={"content-type": "application/json"},
            ),
            timeout=10,
        )
        assert json.load(reply)["choices"][0]["message"]["content"] == "Echo: hi"
    finally:
        child.send_signal(signal.SIGINT)
        child.communicate(timeout=10)
    assert child.returncode == 0
