"""Concurrent writers on one session: nothing lost, nothing doubled, no long transactions."""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest
from django.db import connection, connections

from sessions_app.manager import SessionManager
from sessions_app.models import Message, Session
from sessions_app.providers import register_provider, unregister_provider
from sessions_app.providers.mock import MockProvider

THREADS = 8
PER_THREAD = 10


def run_in_threads(target: Callable[[int], None], count: int = THREADS) -> list[BaseException]:
    errors: list[BaseException] = []
    barrier = threading.Barrier(count)

    def worker(index: int) -> None:
        try:
            barrier.wait()
            target(index)
        except BaseException as exc:
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return errors


@pytest.mark.django_db(transaction=True)
def test_concurrent_sends_store_every_message_once(postgres):
    session_id = SessionManager("race").create_session().session_id

    def send(index: int) -> None:
        handle = SessionManager("race").get_session(session_id)
        for n in range(PER_THREAD):
            handle.send_message(f"t{index}-m{n}")
            handle.send_system_message(f"t{index}-s{n}")

    assert run_in_threads(send) == []
    messages = list(Message.objects.filter(session_id=session_id).order_by("seq"))
    total = THREADS * PER_THREAD * 3
    assert [m.seq for m in messages] == list(range(1, total + 1))
    user_contents = [m.content for m in messages if m.role == "user"]
    assert sorted(user_contents) == sorted(
        f"t{i}-m{n}" for i in range(THREADS) for n in range(PER_THREAD)
    )
    session = Session.objects.get(pk=session_id)
    assert session.message_count == total == session.last_seq
    assert session.user_message_count == session.assistant_message_count == THREADS * PER_THREAD
    assert session.system_message_count == THREADS * PER_THREAD
    assert session.provider_calls == THREADS * PER_THREAD
    assert session.output_tokens == sum(m.output_tokens for m in messages)
    assert session.input_tokens == sum(m.input_tokens for m in messages)


@pytest.mark.django_db(transaction=True)
def test_concurrent_sends_respect_max_messages(postgres):
    handle = SessionManager("race").create_session(session_config={"max_messages": 21})
    accepted = []

    def send(index: int) -> None:
        mine = SessionManager("race").get_session(handle.session_id)
        for n in range(5):
            try:
                mine.send_system_message(f"{index}-{n}")
                accepted.append(1)
            except Exception as exc:
                assert getattr(exc, "error_code", "") == "message_limit_reached"

    assert run_in_threads(send) == []
    assert len(accepted) == 21
    assert Message.objects.filter(session_id=handle.session_id).count() == 21


@pytest.mark.django_db(transaction=True)
def test_concurrent_context_updates_lose_no_write(postgres):
    handle = SessionManager("race").create_session()

    def update(index: int) -> None:
        mine = SessionManager("race").get_session(handle.session_id)
        for n in range(PER_THREAD):
            mine.update_context({f"user_context.t{index}": n, "conversation_context.last": index})

    assert run_in_threads(update) == []
    context = handle.get_context()
    assert context.version == THREADS * PER_THREAD
    assert context.user_context == {f"t{i}": PER_THREAD - 1 for i in range(THREADS)}


@pytest.mark.django_db(transaction=True)
def test_no_transaction_is_open_while_the_provider_works():
    seen: list[bool] = []

    class Spy(MockProvider):
        def complete(self, request):  # type: ignore[no-untyped-def]
            seen.append(connection.in_atomic_block)
            return super().complete(request)

        def stream(self, request):  # type: ignore[no-untyped-def]
            for event in super().stream(request):
                seen.append(connection.in_atomic_block)
                yield event

    register_provider("spy", Spy)
    try:
        handle = SessionManager("tx").create_session(provider="spy")
        handle.send_message("hello")
        list(handle.stream_message("stream"))
    finally:
        unregister_provider("spy")
    assert seen and not any(seen)


@pytest.mark.django_db(transaction=True)
def test_concurrent_turns_never_exceed_max_messages(postgres):
    register_provider("slow", MockProvider, delay=0.1)
    try:
        handle = SessionManager("race").create_session(
            provider="slow", session_config={"max_messages": 10}
        )
        refused: list[str] = []

        def turn(index: int) -> None:
            try:
                SessionManager("race").get_session(handle.session_id).send_message(f"m{index}")
            except Exception as exc:
                refused.append(getattr(exc, "error_code", repr(exc)))

        assert run_in_threads(turn) == []
    finally:
        unregister_provider("slow")
    session = Session.objects.get(pk=handle.session_id)
    assert session.message_count == Message.objects.filter(session_id=handle.session_id).count()
    assert session.message_count == 10 and session.pending_replies == 0
    assert refused == ["message_limit_reached"] * (THREADS - 5)


@pytest.mark.django_db(transaction=True)
def test_clearing_while_others_append_keeps_counters_exact(postgres):
    handle = SessionManager("race").create_session()
    for n in range(5):
        handle.send_system_message(f"before {n}")

    def work(index: int) -> None:
        mine = SessionManager("race").get_session(handle.session_id)
        if index == 0:
            mine.clear_messages()
        else:
            for n in range(PER_THREAD):
                mine.send_system_message(f"{index}-{n}")

    assert run_in_threads(work, 4) == []
    session = Session.objects.get(pk=handle.session_id)
    stored = Message.objects.filter(session_id=handle.session_id).count()
    assert session.message_count == session.system_message_count == stored


@pytest.mark.django_db(transaction=True)
def test_no_transaction_is_open_while_the_provider_works_async():
    from asgiref.sync import async_to_sync

    seen: list[bool] = []

    class Spy(MockProvider):
        async def acomplete(self, request):  # type: ignore[no-untyped-def]
            seen.append(connection.in_atomic_block)
            return await super().acomplete(request)

        async def astream(self, request):  # type: ignore[no-untyped-def]
            async for event in super().astream(request):
                seen.append(connection.in_atomic_block)
                yield event

    register_provider("aspy", Spy)

    async def scenario() -> None:
        handle = await SessionManager("tx").acreate_session(provider="aspy")
        await handle.asend_message("hello")
        async for _ in handle.astream_message("stream"):
            pass

    try:
        async_to_sync(scenario)()
    finally:
        unregister_provider("aspy")
    assert seen and not any(seen)
