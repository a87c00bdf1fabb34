"""Load: many concurrent conversations through the whole product path in ONE Deskmate process.

    python bench/bench_load.py [--conversations 500] [--turns 3] [--tokens-per-s 50]

Each conversation sends `--turns` messages one after another (a user waits for each answer); all
conversations run at once. Messages go through the real path: dispatcher (Redis Stream, embedded
Redis) -> engine (limits, input, features, PII, cache, memory, ..., generate via litellm) -> a responder
that consumes the stream like a platform would. The fake OpenAI-compatible model runs in a child process
(its work does not load our event loop) and streams its answer at `--tokens-per-s`.

Prints messages/s sustained, event-loop lag (p50/p99/max, from a 10 ms ticker), peak RSS of this
process, and answer latency. Targets: lag p99 <= 50 ms, RSS <= 800 MB.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import bots  # noqa: F401  (offline env defaults)


def _serve_fake(port_queue: multiprocessing.Queue, tokens_per_s: float) -> None:
    from tests.fakes.llm_server import FakeLLM

    async def main() -> None:
        fake = FakeLLM(ttft_s=0.2, tokens_per_s=tokens_per_s)
        await fake.start()
        port_queue.put(fake.port)
        await asyncio.Event().wait()

    asyncio.run(main())


def pct(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


class CountingResponder:
    platform = "bench"

    def __init__(self) -> None:
        self.waiters: dict[str, asyncio.Future[str]] = {}

    async def respond(self, inbound, events) -> None:
        terminal = "none"
        async for event in events:
            if event.type in ("final", "error"):
                terminal = event.type if event.type == "final" else event.code
        fut = self.waiters.pop(inbound.message_id, None)
        if fut is not None and not fut.done():
            fut.set_result(terminal)


async def run(args: argparse.Namespace, port: int) -> int:
    import psutil

    from bots.composition import open_runtime
    from bots.settings import load_settings
    from core.llm.settings import LLMSettings, ModelEndpoint
    from core.log import configure_logging
    from core.models import Inbound

    configure_logging("warning", "json", open("/dev/null", "w"))  # noqa: ASYNC230
    data = Path(tempfile.mkdtemp(prefix="deskmate-bench-"))
    llm = LLMSettings(models=[ModelEndpoint(model="openai/gpt-4o-mini", api_base=f"http://127.0.0.1:{port}/v1",
                                            api_key="sk-bench")], num_retries=0, timeout_s=60,
                      first_token_timeout_s=60)
    settings = load_settings(data_dir=data, llm=llm, log_level="warning",
                             limits={"user_per_minute": 0, "tenant_per_minute": 0},
                             queue={"concurrency": args.conversations * 2})
    proc = psutil.Process()
    async with open_runtime(settings) as runtime:
        responder = CountingResponder()
        runtime.dispatcher.register(responder)
        await runtime.dispatcher.start()
        loop = asyncio.get_running_loop()
        lags: list[float] = []
        rss_peak = proc.memory_info().rss
        stop = asyncio.Event()

        async def ticker() -> None:
            nonlocal rss_peak
            n = 0
            while not stop.is_set():
                t0 = loop.time()
                await asyncio.sleep(0.01)
                lags.append(max(0.0, loop.time() - t0 - 0.01))
                n += 1
                if n % 20 == 0:
                    rss_peak = max(rss_peak, proc.memory_info().rss)

        latencies: list[float] = []
        outcomes: dict[str, int] = {}

        async def conversation(n: int) -> None:
            channel = f"C{n}"
            for turn in range(args.turns):
                message = Inbound(platform="bench", bot="helpdesk", tenant="TBENCH", channel=channel,
                                  user=f"U{n}", text=f"Question {turn} from user {n}: how do I reset my password?",
                                  message_id=uuid.uuid4().hex)
                fut: asyncio.Future[str] = loop.create_future()
                responder.waiters[message.message_id] = fut
                t0 = time.perf_counter()
                await runtime.dispatcher.submit(message)
                outcome = await fut
                latencies.append(time.perf_counter() - t0)
                outcomes[outcome] = outcomes.get(outcome, 0) + 1

        # warm up (first litellm call, PII models) outside the measurement
        await conversation(-1)
        latencies.clear()
        outcomes.clear()
        tick = asyncio.create_task(ticker())
        started = time.perf_counter()
        await asyncio.gather(*(conversation(n) for n in range(args.conversations)))
        elapsed = time.perf_counter() - started
        stop.set()
        await tick
        rss_peak = max(rss_peak, proc.memory_info().rss)
        await runtime.dispatcher.drain(10)

    total = sum(outcomes.values())
    print(f"conversations={args.conversations} turns={args.turns} model={args.tokens_per_s:g} tokens/s")
    print(f"messages={total} outcomes={outcomes} elapsed={elapsed:.1f}s messages/s={total / elapsed:.1f}")
    print(f"answer latency p50={pct(latencies, 0.5):.2f}s p99={pct(latencies, 0.99):.2f}s")
    print(f"event-loop lag p50={pct(lags, 0.5) * 1000:.1f}ms p99={pct(lags, 0.99) * 1000:.1f}ms "
          f"max={max(lags, default=0) * 1000:.1f}ms  (target p99 <= 50 ms)")
    print(f"RSS peak={rss_peak / 2**20:.0f} MB  (target <= 800 MB)")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--conversations", type=int, default=500)
    parser.add_argument("--turns", type=int, default=3)
    parser.add_argument("--tokens-per-s", type=float, default=50.0)
    args = parser.parse_args()
    ctx = multiprocessing.get_context("spawn")
    ports: multiprocessing.Queue = ctx.Queue()
    fake = ctx.Process(target=_serve_fake, args=(ports, args.tokens_per_s), daemon=True)
    fake.start()
    try:
        return asyncio.run(run(args, ports.get(timeout=60)))
    finally:
        fake.terminate()
        fake.join(5)


if __name__ == "__main__":
    raise SystemExit(main())
