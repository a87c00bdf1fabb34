"""`deskmate chat`: a terminal conversation with the engine (interactive or piped)."""

from __future__ import annotations

import argparse
import sys
import uuid

from bots.settings import Settings


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "chat", help="talk to Deskmate in the terminal",
        description="Talk to Deskmate in the terminal. Piped stdin: one question per line; answers go to "
                    "stdout, diagnostics to stderr. Each run is a new conversation unless --conversation.",
    )
    parser.add_argument("--bot", default="helpdesk", help="bot profile to talk to (default: helpdesk)")
    parser.add_argument("--conversation", default=None, help="resume the conversation with this id")
    parser.add_argument("--verbose", action="store_true", help="structured logs to stderr instead of a file")
    parser.set_defaults(func=run)


async def run(args: argparse.Namespace, settings: Settings) -> int:
    from adapters.console.session import ConsoleSession
    from bots.composition import open_runtime
    from core.knowledge.options import RetrievalOptions
    from core.log import configure_logging

    settings.data_dir.mkdir(parents=True, exist_ok=True)
    if args.verbose:
        configure_logging(settings.log_level, settings.log_format)
        log_stream = None
    else:
        log_stream = (settings.data_dir / "deskmate.log").open("a", encoding="utf-8")
        configure_logging(settings.log_level, "json", log_stream)
    conversation = args.conversation or uuid.uuid4().hex[:12]
    try:
        async with open_runtime(settings) as runtime:
            if args.bot not in runtime.profiles:
                print(f"deskmate: unknown bot profile {args.bot!r}; have: {', '.join(runtime.profiles)}",
                      file=sys.stderr)
                return 2
            mode = "model " + settings.llm.chain()[0].model if settings.llm.chain() else "no model: retrieval-only"
            print(f"Deskmate ({args.bot}, {mode}); conversation {conversation} "
                  f"(resume with --conversation {conversation}).", file=sys.stderr)
            options = RetrievalOptions.model_validate(runtime.profiles[args.bot].retrieval)
            return await ConsoleSession(runtime.engine, args.bot, conversation,
                                        bot_groups=tuple(options.access_groups)).run()
    finally:
        if log_stream is not None:
            log_stream.close()
