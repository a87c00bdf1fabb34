"""The `--since/--until/--days` time range that `deskmate report` and `deskmate gaps` share."""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import time


def when(value: str) -> float:
    """YYYY-MM-DD or an ISO time (UTC unless it says otherwise) -> a Unix timestamp."""
    try:
        moment = dt.datetime.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date or ISO time: {value!r}") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return moment.timestamp()


def add_range_arguments(parser: argparse.ArgumentParser, days: float = 7.0) -> None:
    parser.add_argument("--since", type=when, default=None,
                        help=f"start (YYYY-MM-DD or ISO time, UTC; default: {days:g} days before --until)")
    parser.add_argument("--until", type=when, default=None, help="end (YYYY-MM-DD or ISO time, UTC; default: now)")
    parser.add_argument("--days", type=float, default=days, help="range length when --since is not given")


def time_range(args: argparse.Namespace, command: str) -> tuple[float, float] | None:
    """(since, until) from the arguments; None, with the reason on stderr, when --since is not before --until."""
    until = args.until if args.until is not None else time.time()
    since = args.since if args.since is not None else until - args.days * 86_400
    if since >= until:
        print(f"deskmate {command}: --since must be before --until", file=sys.stderr)
        return None
    return since, until
