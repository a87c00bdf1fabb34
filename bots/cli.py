"""The `deskmate` command line. Each subcommand lives in bots/commands/<name>.py with `register()`."""

from __future__ import annotations

import argparse
import asyncio
import importlib
import sys
from pathlib import Path

from core.errors import ConfigError

COMMANDS = ("chat", "serve", "ingest", "kb", "report", "gaps", "doctor", "eval")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="deskmate",
        description="Deskmate: an LLM assistant for Slack and Telegram (PII masking, semantic cache, "
                    "knowledge base, tools, streaming). Settings come from DESKMATE_* env variables "
                    "and an optional YAML file.",
    )
    parser.add_argument("--config", type=Path, default=None, help="a YAML settings file (env variables win)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMANDS:
        try:
            module = importlib.import_module(f"bots.commands.{name}")
        except ModuleNotFoundError as exc:
            if exc.name == f"bots.commands.{name}":
                continue  # command not built yet
            raise
        module.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 0
    from bots.settings import load_settings

    try:
        settings = load_settings(args.config)
    except ConfigError as exc:
        if args.command == "doctor":
            from bots.commands.doctor import settings_failed

            return settings_failed(str(exc))
        print(f"deskmate: {exc}", file=sys.stderr)
        return 2
    try:
        return int(asyncio.run(args.func(args, settings)) or 0)
    except ConfigError as exc:
        print(f"deskmate: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
