"""Gateway overhead against the local fake provider: first chunk, whole answer, fallbacks, breaker checks.

    .venv/bin/python -m bench.llm_gateway [--requests 200] [--concurrency 20]

The fake answers instantly, so the numbers are what the gateway (litellm + breaker + our code) adds per call.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import tempfile
import time
from pathlib import Path

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

from core.llm.gateway import LiteLLMGateway
from core.llm.types import TextChunk
from core.log import configure_logging
from core.state.redis import open_redis
from tests.fakes.llm_server import Fail, FakeLLM

ASK = [{"role": "user", "content": "How do I reset my VPN token?"}]


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def _report(name: str, values: list[float]) -> None:
    ms = [v * 1000 for v in values]
    print(f"{name:<42} n={len(ms):<5} mean={statistics.mean(ms):7.2f} ms  p50={_pct(ms, 0.5):7.2f}  "
          f"p95={_pct(ms, 0.95):7.2f}  max={max(ms):7.2f}")


async def _one(gw: LiteLLMGateway) -> tuple[float, float]:
    start = time.perf_counter()
    first = 0.0
    async for event in gw.stream(ASK):
        if isinstance(event, TextChunk) and not first:
            first = time.perf_counter() - start
    return first, time.perf_counter() - start


async def main(requests: int, concurrency: int) -> None:
    configure_logging("error", "console")
    with tempfile.TemporaryDirectory() as tmp:
        async with open_redis(None, Path(tmp)) as redis, FakeLLM() as fake:
            gw = LiteLLMGateway(fake.settings("openai/gpt-4o-mini", "openai/gpt-4o", breaker_failures=3), redis)
            started = time.perf_counter()
            await gw.warm_up()
            print(f"warm_up (import litellm, build Router): {(time.perf_counter() - started) * 1000:.0f} ms")
            started = time.perf_counter()
            await _one(gw)
            print(f"first call (litellm client setup): {(time.perf_counter() - started) * 1000:.0f} ms")

            runs = [await _one(gw) for _ in range(requests)]
            _report("sequential: time to first chunk", [r[0] for r in runs])
            _report("sequential: whole answer (~30 chunks)", [r[1] for r in runs])

            sem = asyncio.Semaphore(concurrency)

            async def limited() -> tuple[float, float]:
                async with sem:
                    return await _one(gw)

            started = time.perf_counter()
            runs = await asyncio.gather(*(limited() for _ in range(requests)))
            wall = time.perf_counter() - started
            _report(f"concurrent x{concurrency}: whole answer", [r[1] for r in runs])
            print(f"concurrent x{concurrency}: {requests / wall:.0f} answers/s")

            fake.script("openai/gpt-4o-mini", Fail(500), Fail(500))
            fallback = [(await _one(gw))[0] for _ in range(2)]
            _report("first chunk after a 500 + fallback", fallback)
            skipped = [(await _one(gw))[0] for _ in range(min(requests, 50))]
            _report("first chunk with primary open (skipped)", skipped)

            checks = []
            for _ in range(requests):
                t = time.perf_counter()
                await gw.breaker.allow("openai/gpt-4o")
                checks.append(time.perf_counter() - t)
            _report("breaker.allow (one Redis script call)", checks)
            await gw.aclose()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=20)
    args = parser.parse_args()
    asyncio.run(main(args.requests, args.concurrency))
