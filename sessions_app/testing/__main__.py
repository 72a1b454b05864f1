"""``python -m sessions_app.testing [port]``: serve the fake OpenAI/Anthropic API."""

from __future__ import annotations

import sys
import time

from sessions_app.testing.fake_llm import FakeLLMServer


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else argv
    port = int(args[0]) if args else 0
    with FakeLLMServer(port=port) as server:
        print(
            f"OpenAI base_url {server.openai_url}, Anthropic base_url {server.anthropic_url}",
            flush=True,
        )
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            pass


if __name__ == "__main__":
    main()
