"""Message-append throughput through ``SessionManager`` vs a raw ORM insert loop.

Measured ops, in messages stored per second:

* ``send_system_message``: a pure append (validation, middleware, guarded counter UPDATE,
  SELECT of the sequence number, INSERT, in one transaction).
* ``send_message``: a full user turn with the mock provider (user message + stored reply,
  i.e. two messages per call; the provider reads the recent history).
* baseline: ``Message.objects.create(session=..., seq=i, role="user", content=...)`` into a
  separate session, autocommit.

Run by ``bench/run.py`` with the database chosen by ``DATABASE_URL`` (SQLite when unset).
"""

from __future__ import annotations

import itertools

from _common import Op, Row, emit, measure, setup_django

CONTENT = "Benchmark message: the quick brown fox jumps over the lazy dog. " * 2
BASELINE = "raw ORM Message.objects.create"


def build_ops() -> dict[str, Op]:
    from sessions_app.manager import SessionManager
    from sessions_app.models import Message

    manager = SessionManager()
    system_handle = manager.create_session(provider="mock")
    turn_handle = manager.create_session(provider="mock")
    baseline_session = manager.create_session(provider="mock").record
    seq = itertools.count(1)

    def system_append() -> int:
        system_handle.send_system_message(CONTENT)
        return 1

    def user_turn() -> int:
        reply = turn_handle.send_message(CONTENT)
        assert reply.role == "assistant", reply.role
        return 2  # the user message and the stored reply

    def raw_insert() -> int:
        Message.objects.create(
            session=baseline_session, seq=next(seq), role="user", content=CONTENT
        )
        return 1

    return {
        "send_system_message": system_append,
        "send_message (user turn)": user_turn,
        BASELINE: raw_insert,
    }


def main() -> None:
    vendor = setup_django()
    print(f"messages on {vendor}: messages stored per second")
    results = measure(build_ops())
    baseline = results[BASELINE]
    turn_note = f"{results['send_message (user turn)'] / 2:,.0f} turns/s, 2 msgs each"
    emit(
        [
            Row(
                "messages: send_system_message",
                vendor,
                results["send_system_message"],
                baseline,
                BASELINE,
                "msgs/s",
            ),
            Row(
                "messages: send_message (mock turn)",
                vendor,
                results["send_message (user turn)"],
                baseline,
                BASELINE,
                "msgs/s",
                turn_note,
            ),
        ]
    )


if __name__ == "__main__":
    main()
