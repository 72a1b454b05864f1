"""``manage.py chat``: talk to a configured provider in the terminal, replies streamed."""

from __future__ import annotations

import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from sessions_app.exceptions import SessionError
from sessions_app.services.chat_console import ChatConsole, known_secrets, open_chat


class Command(BaseCommand):
    help = (
        "Chat with a configured provider in the terminal. Starts a new session (its id is "
        "printed) or resumes one with --session. Inside: /history, /metrics, /help, /quit."
    )
    stealth_options = ("stdin",)

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument(
            "--provider",
            help="a name of PROVIDERS (default: the sandbox's default provider, else "
            "DEFAULT_PROVIDER)",
        )
        parser.add_argument("--model", help="the model (default: the provider's default)")
        parser.add_argument("--session", dest="session_id", help="resume this session (its id)")
        parser.add_argument("--sandbox", help="the sandbox (default: DEFAULT_SANDBOX)")
        parser.add_argument("--user", help="the user id a new session belongs to")
        parser.add_argument("--system", help="a system message for a new session")
        parser.add_argument(
            "--no-stream", action="store_false", dest="stream", help="print whole replies"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        new_only = ("provider", "model", "system", "user")
        if options["session_id"] and any(options[name] for name in new_only):
            raise CommandError(
                "--provider, --model, --system and --user apply to a new session only."
            )
        try:
            session, resumed = open_chat(
                sandbox=options["sandbox"],
                session_id=options["session_id"],
                provider=options["provider"],
                model=options["model"],
                user=options["user"],
                system=options["system"],
            )
        except SessionError as exc:
            raise CommandError(f"{exc.message} (reason: {exc.error_code})") from None
        self.stdout.ending = ""  # the console ends its own lines; deltas have no line end
        console = ChatConsole(session, self.stdout, options["stream"], known_secrets())
        console.run(options.get("stdin") or sys.stdin, resumed=resumed)
