"""Slack benchmark: API calls per streamed 500-token answer, and event -> first streamed text latency.

Runs the whole product (runtime + Slack platform on a local HTTP server) against the fake Slack Web API
and the fake LLM from tests/fakes. Latency = time from posting the signed event to the first
chat.startStream/appendStream that carries text, minus the fake model's time to first token.
Target: p50 <= 50 ms.

Then issue 22's reveal numbers (bench/reveal.py): a 375-word answer at 50 words/s after 500 ms to the first
token, one at a time (median of 3) and 20 at once in one workspace, with the fake's flood emulation on
(Slack's tiers per workspace and method, the streaming methods included).

    python bench/bench_slack.py [--answers 100] [--ttft-ms 100] [--rate-answers 10] [--tokens-per-s 50]
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

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from bench.offline import isolate  # noqa: E402

isolate()

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
from tests.fakes.llm_server import FakeLLM, Reply  # noqa: E402
from tests.fakes.slack_api import SlackRig, slack_rig  # noqa: E402

TOKENS = 500
USERS = 10  # employees asking (users.info is cached per user)


class _Env:
    def setenv(self, name: str, value: str) -> None:
        os.environ[name] = value


def answer_text() -> str:
    words = [f"word{i}" if i % 25 else f"**point {i}**" for i in range(TOKENS)]
    return " ".join(words)


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def one(rig: SlackRig, llm: FakeLLM, n: int, ttft_s: float, delay_s: float) -> tuple[float, float, int]:
    """Ask once; return (first streamed text - event - TTFT, event -> model request, Slack calls of the answer)."""
    channel = f"C{n}"
    llm.script("gpt-4o-mini", Reply(answer_text(), ttft_s=ttft_s, chunk_delay_s=delay_s))
    asked = len(llm.requests)
    sent = time.perf_counter()  # the fakes stamp with the same monotonic clock
    ts = await rig.mention(f"question number {n} about topic {n * 7919 % 1000}", channel=channel,
                           user=f"U{n % USERS}")
    try:
        await rig.answered(channel, ts)
    except AssertionError:
        shown = rig.slack.thread_text(channel, ts)
        raise SystemExit(f"answer {n} did not finish; the thread shows: {shown!r}") from None
    calls = [c for c in rig.slack.calls if c.args.get("channel") == channel]
    first = min(c.at for c in calls if c.method in ("chat.startStream", "chat.appendStream") and c.text)
    model_request = llm.requests[asked].at
    return first - sent - ttft_s, model_request - sent, len(calls)


def _norm(text: str) -> str:
    return "".join(ch for ch in text if ch not in "*•-_` \n")


async def reveal_one(rig: SlackRig, llm: FakeLLM, n: int) -> Reveal:
    """One long answer in channel C9xxx; what the user saw, from the fake's log of visible characters."""
    channel, answer = f"C9{n:03d}", long_answer()
    tag = f"setup question {n} about topic{n * 7919 % 100_000}"
    ts = await rig.mention(tag, channel=channel, user=f"U{n % USERS}")

    def done() -> bool:
        return any(str(b.get("block_id", "")).startswith("feedback:")
                   for m in rig.slack.thread(channel, ts) for b in m.blocks)

    deadline = time.monotonic() + 300
    while not done():
        if time.monotonic() > deadline:
            raise SystemExit(f"reveal answer {n} did not finish in 300 s")
        await asyncio.sleep(0.05)
    [request] = [r for r in llm.requests if tag in str(r.body.get("messages"))][:1]
    first_token, last_token = token_times(request, answer)
    calls = [c for c in rig.slack.calls if c.args.get("channel") == channel]
    ok = Counter(c.method for c in calls if c.ok)
    refused = sum(c.status == 429 for c in calls)
    complete = _norm(answer) in _norm(rig.slack.thread_text(channel, ts))
    return measure(rig.slack.visible.get(channel, []), first_token, last_token, ok, refused, complete)


async def reveal(rig: SlackRig, llm: FakeLLM, crowd: int) -> list[str]:
    logged = io.StringIO()
    configure_logging("info", "json", logged)  # the sinks' "slack_replied" lines carry the engine/render tails
    rig.slack.reset()
    rig.slack.flood()
    llm.responder = lambda body: Reply(long_answer(), ttft_s=TTFT_S, chunk_delay_s=1 / WORDS_PER_S)
    alone = [await reveal_one(rig, llm, n) for n in range(3)]
    await asyncio.sleep(3)  # let the buckets refill between the scenarios
    many = await asyncio.gather(*(reveal_one(rig, llm, 100 + n) for n in range(crowd)))
    llm.responder = None
    configure_logging("error", "json", io.StringIO())
    attach_tails({f"C9{n:03d}": r for n, r in enumerate(alone)}, logged.getvalue(), "slack_replied", "channel")
    attach_tails({f"C9{100 + n:03d}": r for n, r in enumerate(many)}, logged.getvalue(), "slack_replied", "channel")
    return [f"Slack reveal: {len(long_answer().split())}-word answer at {WORDS_PER_S:g} words/s, "
            f"TTFT {TTFT_S * 1000:.0f} ms, flood emulation on",
            *report("one at a time", alone), *report(f"{crowd} at once in one workspace", list(many))]


async def run(args: argparse.Namespace) -> None:
    configure_logging("error", "json", io.StringIO())
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["DESKMATE_DATA_DIR"] = tmp
        os.environ["DESKMATE_PROFILES_DIR"] = str(ungated_profiles(Path(tmp) / "profiles"))
        os.environ["DESKMATE_LIMITS__USER_PER_MINUTE"] = "0"
        os.environ["DESKMATE_LIMITS__TENANT_PER_MINUTE"] = "0"
        async with FakeLLM() as llm, slack_rig(llm, _Env()) as rig:
            # every answer must come from the model: no semantic-cache hits between the similar questions
            await rig.runtime.flags.set("slack", "T1", "cache", False, "bench")
            await one(rig, llm, 0, 0.0, 0.0)  # warm-up (imports, first connections)
            reveal_lines = await reveal(rig, llm, args.crowd)
            if args.reveal_only:
                print("\n".join(reveal_lines))
                return
            rig.slack.reset()
            latencies: list[float] = []
            to_model: list[float] = []
            fast_calls: list[int] = []
            for n in range(1, args.answers + 1):
                latency, before_model, calls = await one(rig, llm, n, args.ttft_ms / 1000, 0.0)
                latencies.append(latency * 1000)
                to_model.append(before_model * 1000)
                fast_calls.append(calls)
            rate_results = await asyncio.gather(*(
                one(rig, llm, 10_000 + n, args.ttft_ms / 1000, 1 / args.tokens_per_s)
                for n in range(args.rate_answers)))
    rate_calls = [c for _, _, c in rate_results]
    after_model = [t - m for t, m in zip(latencies, to_model, strict=True)]
    print("\n".join(reveal_lines))
    print(f"Slack benchmark: {TOKENS}-token answers, fake model TTFT {args.ttft_ms} ms")
    print(f"  event -> first streamed text, minus TTFT ({args.answers} answers, sequential): "
          f"p50 {statistics.median(latencies):.1f} ms, p95 {pct(latencies, 0.95):.1f} ms, "
          f"max {max(latencies):.1f} ms  (target p50 <= 50 ms)")
    print(f"    of which event -> model request (Slack receive + queue + engine stages + LLM client): "
          f"p50 {statistics.median(to_model):.1f} ms, p95 {pct(to_model, 0.95):.1f} ms")
    print(f"    and model request -> first streamed text, minus TTFT (LLM client + Slack responder): "
          f"p50 {statistics.median(after_model):.1f} ms, p95 {pct(after_model, 0.95):.1f} ms")
    print(f"  Slack API calls per answer, tokens as fast as possible: "
          f"median {statistics.median(fast_calls):.0f}, max {max(fast_calls)}")
    print(f"  Slack API calls per answer at {args.tokens_per_s} tokens/s ({args.rate_answers} concurrent answers): "
          f"median {statistics.median(rate_calls):.0f}, max {max(rate_calls)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--answers", type=int, default=100)
    parser.add_argument("--ttft-ms", type=float, default=100.0)
    parser.add_argument("--rate-answers", type=int, default=10)
    parser.add_argument("--tokens-per-s", type=float, default=50.0)
    parser.add_argument("--reveal-only", action="store_true", help="only issue 22's reveal numbers")
    parser.add_argument("--crowd", type=int, default=20, help="answers at once in one workspace")
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
