"""Engine overhead per message: inbound -> first token handed to the adapter, minus the model's TTFT.

    python bench/bench_engine.py [--messages 1000] [--concurrency 200] [--ttft-ms 20]

The fake OpenAI-compatible model runs in a child process (so its work does not load our event loop)
with a fixed time to first token; everything else — stages, Redis, litellm, HTTP — is counted as the
engine's overhead. Two configurations: the core stages only (pii, cache, rag, tools switched off for the
bench tenant) and every stage switched on.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import multiprocessing
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import bots  # noqa: F401  (offline env defaults)


def _serve_fake(port_queue: multiprocessing.Queue, ttft_s: float) -> None:
    from tests.fakes.llm_server import FakeLLM

    async def main() -> None:
        fake = FakeLLM(ttft_s=ttft_s, tokens_per_s=0)
        await fake.start()
        port_queue.put(fake.port)
        await asyncio.Event().wait()

    asyncio.run(main())


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def run(messages: int, concurrency: int, ttft_s: float, all_stages: bool, base_url: str
              ) -> tuple[list[float], collections.Counter[str]]:
    from bots.composition import open_runtime
    from bots.settings import load_settings
    from core.models import Error, Final, Inbound, TextDelta

    data_dir = Path(tempfile.mkdtemp(prefix="deskmate-bench-"))
    settings = load_settings(
        data_dir=data_dir, log_level="error",
        limits={"user_per_minute": 0, "tenant_per_minute": 0},  # measured here: the stage, not refusals
        llm={"models": [{"model": "openai/gpt-4o-mini", "api_base": base_url, "api_key": "sk-bench"}],
             "num_retries": 0, "timeout_s": 30, "first_token_timeout_s": 30},
    )
    from core.log import configure_logging

    configure_logging("error", "json", open("/dev/null", "w"))  # noqa: ASYNC230 - bench set-up
    async with open_runtime(settings) as rt:
        tenant = "bench"
        if not all_stages:
            for feature in ("pii", "cache", "rag", "tools"):
                if feature in rt.flags.known and feature not in rt.flags.locked:
                    await rt.flags.set("console", tenant, feature, False, by="bench")
        overheads: list[float] = []
        outcomes: collections.Counter[str] = collections.Counter()
        sem = asyncio.Semaphore(concurrency)

        async def one(n: int) -> None:
            async with sem:
                inbound = Inbound(platform="console", bot="helpdesk", tenant=tenant, channel=f"c{n % 500}",
                                  user=f"u{n % 300}", text=f"Question {uuid.uuid4().hex[:6]} about the VPN?")
                t0 = time.perf_counter()
                first: float | None = None
                async for event in rt.engine.handle(inbound):
                    if first is None and isinstance(event, TextDelta):
                        first = time.perf_counter()
                    if isinstance(event, Error):
                        outcomes[f"error:{event.code}"] += 1
                    elif isinstance(event, Final):
                        outcomes["retrieval_only" if event.retrieval_only else "cached" if event.cached
                                 else "answered"] += 1
                if first is not None:
                    overheads.append((first - t0 - ttft_s) * 1000)

        for n in range(20):  # warm-up: imports, connections, first Redis keys
            await one(n)
        overheads.clear()
        outcomes.clear()
        await asyncio.gather(*(one(n) for n in range(messages)))
    return overheads, outcomes


def report(label: str, result: tuple[list[float], collections.Counter[str]]) -> None:
    values, outcomes = result
    counts = ", ".join(f"{k}={v}" for k, v in sorted(outcomes.items()))
    if not values:
        print(f"{label:<44} n=    0  (no text)  outcomes: {counts}")
        return
    print(f"{label:<44} n={len(values):5d}  p50={statistics.median(values):7.2f} ms  "
          f"p95={pct(values, 0.95):7.2f} ms  outcomes: {counts}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=200)
    parser.add_argument("--ttft-ms", type=float, default=20.0)
    args = parser.parse_args()
    ttft_s = args.ttft_ms / 1000
    queue: multiprocessing.Queue = multiprocessing.Queue()
    server = multiprocessing.Process(target=_serve_fake, args=(queue, ttft_s), daemon=True)
    server.start()
    base_url = f"http://127.0.0.1:{queue.get(timeout=60)}/v1"
    try:
        print(f"engine overhead = first token at the adapter - fake model TTFT ({args.ttft_ms:.0f} ms); "
              "targets: p50 <= 10 ms, p95 <= 30 ms (core stages)")
        for all_stages in (False, True):
            label = "all stages on" if all_stages else "core stages (pii/cache/rag/tools off)"
            seq = asyncio.run(run(args.messages, 1, ttft_s, all_stages, base_url))
            report(f"{label}, sequential", seq)
            conc = asyncio.run(run(args.messages, args.concurrency, ttft_s, all_stages, base_url))
            report(f"{label}, {args.concurrency} in flight", conc)
    finally:
        server.terminate()


if __name__ == "__main__":
    main()
