"""Telegram benchmark: Bot API calls per streamed 500-token answer, and update -> first visible text latency.

Runs the whole product (runtime + Telegram platform, webhook mode on a local HTTP server) against the fake
Bot API and the fake LLM from tests/fakes. Latency = time from posting the update to the first
sendMessageDraft (private) / sendMessage (group) that carries text, as stamped by the fake Bot API, minus the
fake model's time to first token. Target: p50 <= 50 ms.

The target is measured one update at a time (the latency a customer sees on a quiet bot); the same is then
measured with `--batch` answers streaming at once, to show the cost of concurrency on one process.

Then issue 22's reveal numbers (bench/reveal.py): a 375-word answer at 50 words/s after 500 ms to the first
token, in a private chat and in a group one at a time (median of 3), and 20 at once in one group, with the
fake's flood emulation on (per chat, per group, per bot; drafts included).

    python bench/bench_telegram.py [--answers 15] [--ttft-ms 100] [--tokens-per-s 200] [--batch 5]
                                   [--reveal-only] [--crowd 20]
"""

from __future__ import annotations

import argparse
import asyncio
import io
import os
import statistics
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from bench.offline import isolate  # noqa: E402

isolate()

from adapters.telegram.keyboards import ReplyButton  # noqa: E402
from bench.reveal import (  # noqa: E402
    TTFT_S,
    WORDS_PER_S,
    Reveal,
    attach_tails,
    long_answer,
    measure,
    report,
    token_times,
    ungated_profiles,
)
from core.log import configure_logging  # noqa: E402
from core.state.redis import open_redis  # noqa: E402
from tests.fakes.llm_server import FakeLLM, Reply  # noqa: E402
from tests.fakes.telegram_api import (  # noqa: E402
    BOT_ID,
    BOT_USERNAME,
    FakeBotAPI,
    parse_html,
)
from tests.support.telegram import Deskmate, running, telegram_env  # noqa: E402

TOKENS = 500


class _Env:
    def setenv(self, name: str, value: str) -> None:
        os.environ[name] = value


def answer_text() -> str:
    return " ".join(f"word{i}" if i % 25 else f"**point {i}**." for i in range(TOKENS))


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def one(app: Deskmate, chat_id: int, ttft_s: float) -> tuple[float, int]:
    """Ask once in `chat_id`; return (first visible text - update - TTFT, Bot API calls for this answer)."""
    fake = app.fake
    if chat_id > 0:
        update = fake.message_update(chat_id, f"question in chat {chat_id}", user_id=chat_id)
        first_methods = ("sendMessageDraft", "sendMessage")
    else:
        tag = f"@{BOT_USERNAME}"
        update = fake.message_update(chat_id, f"{tag} question in group {chat_id}", user_id=abs(chat_id) % 10**6,
                                     entities=[{"type": "mention", "offset": 0, "length": len(tag)}])
        first_methods = ("sendMessage",)
    sent = time.monotonic()  # the fake Bot API stamps calls with the same clock
    assert await app.post(update) == 200

    def mine() -> list:
        return [c for c in fake.calls if str(c.params.get("chat_id")) == str(chat_id)]

    await fake.wait_for(lambda: any(feedback(c.params.get("reply_markup")) for c in mine()), within_s=120)
    first = next(c for c in mine() if c.method in first_methods and c.text.strip())
    return (first.at - sent) - ttft_s, len(mine())


def _norm(text: str) -> str:
    return "".join(ch for ch in text if ch not in "*•-_` \n")


def feedback(markup: Any) -> bool:
    """The final answer's keyboard (its buttons unpack as `ReplyButton`s: thumbs), not the Stop button
    (`StopButton`) a group's answer carries while it is written."""
    rows = (markup or {}).get("inline_keyboard", []) if isinstance(markup, dict) else []
    return any(_reply_button(str(b.get("callback_data", ""))) for row in rows for b in row)


def _reply_button(data: str) -> bool:
    try:
        ReplyButton.unpack(data)
    except (TypeError, ValueError):
        return False
    return True


def _shown(call: Any) -> int:
    try:
        return len(parse_html(call.text)) if call.params.get("parse_mode") else len(call.text)
    except ValueError:
        return 0


async def reveal_one(app: Deskmate, chat_id: int, n: int) -> tuple[Reveal, int]:
    """One long answer; what the user saw, rebuilt from the fake's calls for this answer's message."""
    fake, answer = app.fake, long_answer()
    tag = f"setup question {n} about topic{n * 7919 % 100_000}"
    if chat_id > 0:
        update = fake.message_update(chat_id, tag, user_id=chat_id)
    else:
        mention = f"@{BOT_USERNAME}"
        update = fake.message_update(chat_id, f"{mention} {tag}", user_id=1000 + n,
                                     entities=[{"type": "mention", "offset": 0, "length": len(mention)}])
    question = update["message"]["message_id"]
    assert await app.post(update) == 200

    def mine() -> list[Any]:
        return [m for m in fake.chat_messages(chat_id) if m.reply_to == question]

    await fake.wait_for(lambda: any(feedback(m.reply_markup) for m in mine()), within_s=300)
    [message] = mine()[:1]
    calls = [c for c in fake.calls if str(c.params.get("chat_id")) == str(chat_id)
             and c.method in ("sendMessage", "editMessageText", "sendMessageDraft")]
    if chat_id > 0:
        timeline = fake.visible.get(chat_id, [])
        own = calls
    else:
        def answers(c: Any) -> bool:
            return c.method == "sendMessage" and (c.params.get("reply_parameters") or {}).get("message_id") == question

        own = [c for c in calls if str(c.params.get("message_id")) == str(message.message_id) or answers(c)]
        timeline = [(c.at, _shown(c)) for c in own if c.status == 200]
    [request] = [r for r in app.llm.requests if tag in str(r.body.get("messages"))][:1]
    first_token, last_token = token_times(request, answer)
    ok = Counter(c.method for c in own if c.status == 200)
    refused = sum(c.status == 429 for c in own)
    complete = _norm(answer) in _norm(" ".join(m.text for m in mine()))
    if not complete:
        print(f"  incomplete answer {n}: {len(answer)} characters asked, the chat shows "
              f"{[len(m.text) for m in mine()]} in {len(mine())} message(s): {mine()[0].text[-80:]!r}", file=sys.stderr)
    return measure(timeline, first_token, last_token, ok, refused, complete), question


async def reveal(app: Deskmate, crowd: int) -> list[str]:
    logged = io.StringIO()
    configure_logging("info", "json", logged)  # the sinks' "telegram_replied" lines carry the engine/render tails
    await app.runtime.flags.set("telegram", str(BOT_ID), "cache", False, "bench")  # every answer from the model
    app.fake.flood()
    app.llm.responder = lambda body: Reply(long_answer(), ttft_s=TTFT_S, chunk_delay_s=1 / WORDS_PER_S)
    lines = [f"Telegram reveal: {len(long_answer().split())}-word answer at {WORDS_PER_S:g} words/s, "
             f"TTFT {TTFT_S * 1000:.0f} ms, flood emulation on"]
    runs: list[tuple[str, list[Reveal], dict[str, Reveal]]] = []
    for title, chats in (("private chat, one at a time", [5_000 + n for n in range(3)]),
                         ("group, one at a time", [-1005000 - n for n in range(3)])):
        rows, by_chat = [], {}
        for n, chat in enumerate(chats):
            row, _ = await reveal_one(app, chat, n + (0 if chat > 0 else 10))
            rows.append(row)
            by_chat[str(chat)] = row
            await asyncio.sleep(2)
        runs.append((title, rows, by_chat))
    await asyncio.sleep(5)
    crowd_rows = await asyncio.gather(*(reveal_one(app, -1009000, 100 + n) for n in range(crowd)))
    configure_logging("warning", "json", io.StringIO())
    for title, rows, by_chat in runs:
        attach_tails(by_chat, logged.getvalue(), "telegram_replied", "chat_id")
        lines += report(title, rows)
    lines += report(f"{crowd} at once in one group", [r for r, _ in crowd_rows])
    app.fake.flood_limits = None
    return lines


async def bench(args: argparse.Namespace) -> int:
    configure_logging("info" if args.verbose else "warning", "json", sys.stderr if args.verbose else io.StringIO())
    ttft_s = args.ttft_ms / 1000
    delay_s = 1 / args.tokens_per_s
    results: dict[tuple[str, int], tuple[list[float], list[int]]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["DESKMATE_DATA_DIR"] = str(Path(tmp) / "var")
        os.environ["DESKMATE_PROFILES_DIR"] = str(ungated_profiles(Path(tmp) / "profiles"))
        async with open_redis(None, Path(tmp) / "redis") as redis, FakeLLM() as llm, FakeBotAPI() as fake:
            telegram_env(_Env(), fake, llm, redis)  # type: ignore[arg-type]
            for name in ("DRAFT_INTERVAL_S", "EDIT_INTERVAL_S"):  # the product's defaults, not the tests' pace
                os.environ.pop(f"DESKMATE_TELEGRAM__{name}", None)
            llm.responder = lambda body: Reply(answer_text(), ttft_s=ttft_s, chunk_delay_s=delay_s)
            async with running(fake, llm) as app:
                await one(app, 10**9, ttft_s)  # warm-up: imports, connections, first compiled paths
                reveal_lines = await reveal(app, args.crowd)
                if args.reveal_only:
                    print("\n".join(reveal_lines))
                    return 0
                llm.responder = lambda body: Reply(answer_text(), ttft_s=ttft_s, chunk_delay_s=delay_s)
                for batch in dict.fromkeys((1, args.batch)):
                    for kind, base in (("private", 1000 + 100_000 * batch), ("group", -1001000 - 100_000 * batch)):
                        latencies: list[float] = []
                        calls: list[int] = []
                        for start in range(0, args.answers, batch):
                            chats = [base + i if base > 0 else base - i
                                     for i in range(start, min(start + batch, args.answers))]
                            for latency, n in await asyncio.gather(*(one(app, c, ttft_s) for c in chats)):
                                latencies.append(latency)
                                calls.append(n)
                        results[(kind, batch)] = (latencies, calls)
    print("\n".join(reveal_lines))
    seconds = TOKENS / args.tokens_per_s
    print(f"Telegram streaming, {TOKENS}-token answers at {args.tokens_per_s} tokens/s (~{seconds:.1f} s each), "
          f"fake TTFT {args.ttft_ms} ms, {args.answers} answers per chat type")
    ok = True
    for (kind, batch), (latencies, calls) in results.items():
        ms = [v * 1000 for v in latencies]
        p50, p95 = pct(ms, 0.5), pct(ms, 0.95)
        how = "one at a time" if batch == 1 else f"{batch} at a time"
        if batch == 1:
            ok = ok and p50 <= 50
            verdict = f"(target p50 <= 50 ms: {'met' if p50 <= 50 else 'MISSED'})"
        else:
            verdict = "(concurrency, for comparison)"
        print(f"  {kind:8s} {how:14s} Bot API calls per answer: mean {statistics.mean(calls):.1f} "
              f"(min {min(calls)}, max {max(calls)})")
        print(f"  {kind:8s} {how:14s} update -> first visible text - TTFT: p50 {p50:.1f} ms, p95 {p95:.1f} ms "
              f"{verdict}")
    return 0 if ok else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--answers", type=int, default=15, help="answers per chat type")
    parser.add_argument("--ttft-ms", type=float, default=100.0, help="fake model's time to first token")
    parser.add_argument("--tokens-per-s", type=float, default=200.0, help="fake model's streaming speed")
    parser.add_argument("--batch", type=int, default=5,
                        help="answers streamed at the same time in the second round (1 = skip it)")
    parser.add_argument("--reveal-only", action="store_true", help="only issue 22's reveal numbers")
    parser.add_argument("--crowd", type=int, default=20, help="answers at once in one group")
    parser.add_argument("--verbose", action="store_true", help="warnings and errors to stderr")
    return asyncio.run(bench(parser.parse_args()))


if __name__ == "__main__":
    sys.exit(main())
