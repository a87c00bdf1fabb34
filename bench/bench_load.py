"""Load: many concurrent conversations through the whole product path in ONE Deskmate process.

    python bench/bench_load.py [--conversations 500] [--turns 3] [--tokens-per-s 50]
                               [--concurrency 200[,50,...]] [--max-loop-lag-ms 25[,0,...]]
                               [--switch-ms 5[,1]] [--diagnose] [--tracemalloc]

Each conversation sends `--turns` messages one after another (a user waits for each answer); all
conversations run at once. Messages go through the real path: dispatcher (Redis Stream, embedded
Redis) -> engine (limits, input, features, PII, cache, memory, ..., generate via litellm) -> a responder
that consumes the stream like a platform would. The fake OpenAI-compatible model runs in a child process
(its work does not load our event loop) and streams its answer at `--tokens-per-s`.

The worker's admission (`DESKMATE_QUEUE__CONCURRENCY`, `DESKMATE_QUEUE__MAX_LOOP_LAG_MS`, defaults from
QueueSettings) can be given as lists: every combination runs as one phase, one after another in the SAME
process (same warm caches, same machine load), so phases compare with each other. RSS peaks only grow
within a process: compare RSS between separate runs.

Prints, per phase: messages/s, answer latency, event-loop lag (p50/p99/max, from a 10 ms ticker), messages
in flight and peak RSS; and RSS right after start-up. Targets: lag p99 <= 50 ms, RSS <= 800 MB.
`--diagnose` adds the callbacks that held the loop longest (stack samples taken while one runs over 20 ms),
garbage-collector pauses and CPU time per thread; `--tracemalloc` adds what Python memory grew, at the
busiest moment and after the run.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import multiprocessing
import sys
import tempfile
import threading
import time
import tracemalloc
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import bots  # noqa: F401  (offline env defaults)

SLOW_S = 0.02  # --diagnose: a callback running longer than this is sampled


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
            if event.type == "final":
                terminal = "cached" if event.cached else "final"
            elif event.type == "error":
                terminal = event.code
        fut = self.waiters.pop(inbound.message_id, None)
        if fut is not None and not fut.done():
            fut.set_result(terminal)


class LoopWatch:
    """--diagnose: which callbacks hold the loop, how long the GC pauses, which threads use CPU."""

    def __init__(self) -> None:
        self.loop_thread = threading.get_ident()
        self.current: tuple[float, Any] | None = None  # (start, handle) of the callback running now
        self.samples: Counter[str] = Counter()  # stack signature -> samples taken in slow callbacks
        self.slow: list[float] = []
        self.gc_pauses: dict[int, list[float]] = {0: [], 1: [], 2: []}
        self._gc_started = 0.0
        self._stop = threading.Event()
        self._orig_run = asyncio.events.Handle._run

    def install(self) -> None:
        watch = self
        orig = self._orig_run

        def timed_run(handle: asyncio.events.Handle) -> None:
            start = time.perf_counter()
            watch.current = (start, handle)
            try:
                orig(handle)
            finally:
                watch.current = None
                took = time.perf_counter() - start
                if took > SLOW_S:
                    watch.slow.append(took)

        asyncio.events.Handle._run = timed_run  # type: ignore[method-assign]
        gc.callbacks.append(self._on_gc)
        threading.Thread(target=self._sample, daemon=True, name="loopwatch").start()

    def uninstall(self) -> None:
        asyncio.events.Handle._run = self._orig_run  # type: ignore[method-assign]
        gc.callbacks.remove(self._on_gc)
        self._stop.set()

    def _on_gc(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._gc_started = time.perf_counter()
        else:
            self.gc_pauses[info["generation"]].append(time.perf_counter() - self._gc_started)

    def _sample(self) -> None:
        while not self._stop.wait(0.005):
            current = self.current
            if current is None or time.perf_counter() - current[0] < SLOW_S:
                continue
            frame = sys._current_frames().get(self.loop_thread)
            if frame is not None:
                self.samples[_signature(frame)] += 1

    def report(self) -> None:
        print(f"  slow callbacks (> {SLOW_S * 1000:.0f} ms): {len(self.slow)}, {sum(self.slow):.1f} s in all, "
              f"max {max(self.slow, default=0) * 1000:.0f} ms; where they were (5 ms samples):")
        total = sum(self.samples.values()) or 1
        for sig, n in self.samples.most_common(15):
            print(f"    {n:5d} ({n / total:4.0%})  {sig}")
        for gen, pauses in self.gc_pauses.items():
            longest = max(pauses, default=0) * 1000
            print(f"  gc gen{gen}: {len(pauses)} collections, {sum(pauses):.2f} s, max {longest:.0f} ms")


class StageTimes:
    """--diagnose: an engine observer adding up each stage's own time (before it calls the next) per reply."""

    def __init__(self) -> None:
        self.times: dict[str, list[float]] = {}

    def stage_started(self, turn: Any, stage: str) -> None:
        return None

    def stage_finished(self, turn: Any, stage: str, self_s: float, error: BaseException | None) -> None:
        return None

    def reply_finished(self, turn: Any, terminal: Any) -> None:
        for stage, spent in turn.timings.items():
            self.times.setdefault(stage, []).append(spent)
        self.times.setdefault("(first token)", []).append((turn.first_token_at or time.perf_counter()) - turn.started)
        self.times.setdefault("(whole reply)", []).append(time.perf_counter() - turn.started)

    def report(self) -> None:
        print("  per reply, in the engine (own time before the next stage; s): "
              + ", ".join(f"{k} p50={pct(v, 0.5):.3f} p99={pct(v, 0.99):.3f}" for k, v in self.times.items()))


def _signature(frame: Any) -> str:
    """The innermost frame and the innermost frame of our own code (core/, bots/, adapters/)."""
    root = str(Path(__file__).resolve().parent.parent)
    inner = f"{Path(frame.f_code.co_filename).name}:{frame.f_lineno} {frame.f_code.co_name}"
    ours = ""
    f = frame
    while f is not None:
        name = f.f_code.co_filename
        if name.startswith(root) and "/.venv/" not in name and "/bench/" not in name:
            ours = f"{Path(name).relative_to(root)}:{f.f_lineno} {f.f_code.co_name}"
            break
        f = f.f_back
    return f"{inner}  <- {ours}" if ours else inner


def _thread_cpu(proc: Any) -> dict[int, float]:
    return {t.id: t.user_time + t.system_time for t in proc.threads()}


def _print_growth(title: str, now: tracemalloc.Snapshot, base: tracemalloc.Snapshot) -> None:
    stats = now.compare_to(base, "lineno")
    grown = sum(s.size_diff for s in stats)
    print(f"  tracemalloc {title}: {grown / 2**20:+.1f} MB of Python objects; largest growth:")
    for s in stats[:12]:
        frame = s.traceback[0]
        where = f"{frame.filename.split('site-packages/')[-1]}:{frame.lineno}"
        print(f"    {s.size_diff / 2**20:+7.2f} MB {s.count_diff:+8d} blocks  {where}")


class Bench:
    """One process, one runtime; phases run one after another against it."""

    def __init__(self, args: argparse.Namespace, runtime: Any, proc: Any) -> None:
        self.args = args
        self.dispatcher: Any = runtime.dispatcher
        self.engine = runtime.engine
        self.observers = runtime.engine.observers
        self.responder = CountingResponder()
        self.dispatcher.register(self.responder)
        self.proc = proc
        self.rss_peak = 0
        self.tag = "warm-up"
        self.base: tracemalloc.Snapshot | None = None

    async def conversation(self, n: int, latencies: list[float], outcomes: Counter[str]) -> None:
        from core.models import Inbound

        loop = asyncio.get_running_loop()
        for turn in range(self.args.turns):
            message = Inbound(platform="bench", bot="helpdesk", tenant="TBENCH", channel=f"C{n}", user=f"U{n}",
                              text=f"Question {turn} ({self.tag}) from user {n}: how do I reset my password?",
                              message_id=uuid.uuid4().hex)
            fut: asyncio.Future[str] = loop.create_future()
            self.responder.waiters[message.message_id] = fut
            t0 = time.perf_counter()
            await self.dispatcher.submit(message)
            outcome = await fut
            latencies.append(time.perf_counter() - t0)
            outcomes[outcome] += 1

    async def phase(self, index: int, concurrency: int, max_lag_ms: float) -> None:
        from core.ops.queue import Admission

        self.tag = f"phase {index}"
        self.dispatcher.admission = Admission(concurrency, max_lag_ms / 1000)
        watch = LoopWatch() if self.args.diagnose else None
        stage_times = StageTimes()
        if watch is not None:
            watch.install()
            self.engine.observers = (*self.observers, stage_times)
        lags: list[float] = []
        in_flight: list[int] = []
        limits: list[int] = []
        stop = asyncio.Event()
        busiest: list[tracemalloc.Snapshot] = []
        total = self.args.conversations * self.args.turns
        latencies: list[float] = []
        outcomes: Counter[str] = Counter()
        loop = asyncio.get_running_loop()

        async def ticker() -> None:
            n = 0
            while not stop.is_set():
                t0 = loop.time()
                await asyncio.sleep(0.01)
                lags.append(max(0.0, loop.time() - t0 - 0.01))
                in_flight.append(len(self.dispatcher.tasks))
                limits.append(self.dispatcher.admission.allowed())
                n += 1
                if n % 20 == 0:
                    self.rss_peak = max(self.rss_peak, self.proc.memory_info().rss)
                if self.base is not None and not busiest and len(latencies) >= total // 2:
                    busiest.append(tracemalloc.take_snapshot())

        cpu_before = _thread_cpu(self.proc)
        tick = asyncio.create_task(ticker())
        started = time.perf_counter()
        await asyncio.gather(*(self.conversation(n, latencies, outcomes) for n in range(self.args.conversations)))
        elapsed = time.perf_counter() - started
        stop.set()
        await tick
        self.rss_peak = max(self.rss_peak, self.proc.memory_info().rss)
        done = sum(outcomes.values())
        final_limit = self.dispatcher.admission.allowed()
        print(f"\n[phase {index}] concurrency={concurrency} max_loop_lag_ms={max_lag_ms:g} "
              f"switch_ms={sys.getswitchinterval() * 1000:g}")
        print(f"  messages={done} outcomes={dict(outcomes)} elapsed={elapsed:.1f}s messages/s={done / elapsed:.1f}")
        print(f"  answer latency p50={pct(latencies, 0.5):.2f}s p99={pct(latencies, 0.99):.2f}s")
        print(f"  event-loop lag p50={pct(lags, 0.5) * 1000:.1f}ms p99={pct(lags, 0.99) * 1000:.1f}ms "
              f"max={max(lags, default=0) * 1000:.1f}ms  (target p99 <= 50 ms)")
        print(f"  in flight mean={sum(in_flight) / max(1, len(in_flight)):.0f} max={max(in_flight, default=0)}; "
              f"admission limit mean={sum(limits) / max(1, len(limits)):.0f} final={final_limit}")
        print(f"  RSS peak so far={self.rss_peak / 2**20:.0f} MB  (target <= 800 MB)")
        if watch is not None:
            watch.uninstall()
            self.engine.observers = self.observers
            stage_times.report()
            _print_cpu(cpu_before, _thread_cpu(self.proc), elapsed)
            watch.report()
        if self.base is not None:
            if busiest:
                _print_growth("at the busiest half-way point vs after start-up", busiest[0], self.base)
            gc.collect()
            _print_growth("after the phase (gc.collect) vs after start-up", tracemalloc.take_snapshot(), self.base)


def _print_cpu(before: dict[int, float], after: dict[int, float], elapsed: float) -> None:
    used = {t: after[t] - before.get(t, 0.0) for t in after}
    main_id = threading.get_native_id()
    names = {t.native_id: t.name for t in threading.enumerate()}
    others = sorted(((v, names.get(t, f"native-{t}")) for t, v in used.items() if t != main_id), reverse=True)
    print(f"  CPU: event-loop thread {used.get(main_id, 0.0):.1f} s, other threads {sum(v for v, _ in others):.1f} s "
          f"(busiest: {', '.join(f'{n} {v:.1f}' for v, n in others[:6])}) over {elapsed:.1f} s")


async def run(args: argparse.Namespace, port: int) -> int:
    import psutil

    from bots.composition import open_runtime
    from bots.settings import load_settings
    from core.llm.settings import LLMSettings, ModelEndpoint
    from core.log import configure_logging

    configure_logging("warning", "json", open("/dev/null", "w"))  # noqa: ASYNC230
    data = Path(tempfile.mkdtemp(prefix="deskmate-bench-"))
    llm = LLMSettings(models=[ModelEndpoint(model="openai/gpt-4o-mini", api_base=f"http://127.0.0.1:{port}/v1",
                                            api_key="sk-bench")], num_retries=0, timeout_s=60,
                      first_token_timeout_s=60)
    settings = load_settings(data_dir=data, llm=llm, log_level="warning",
                             limits={"user_per_minute": 0, "tenant_per_minute": 0})
    async with open_runtime(settings) as runtime:
        bench = Bench(args, runtime, psutil.Process())
        await runtime.dispatcher.start()
        await bench.conversation(-1, [], Counter())  # warm up (first litellm call, PII models) outside the measurement
        gc.collect()
        bench.rss_peak = rss_start = bench.proc.memory_info().rss
        print(f"conversations={args.conversations} turns={args.turns} model={args.tokens_per_s:g} tokens/s")
        print(f"RSS after start-up (runtime open, models loaded, one message answered)={rss_start / 2**20:.0f} MB")
        if args.tracemalloc:
            tracemalloc.start(1)
            bench.base = tracemalloc.take_snapshot()
        phases = [(c, lag, sw) for c in args.concurrency for lag in args.max_loop_lag_ms for sw in args.switch_ms]
        for index, (concurrency, max_lag_ms, switch_ms) in enumerate(phases):
            sys.setswitchinterval(switch_ms / 1000)
            await bench.phase(index, concurrency, max_lag_ms)
        await runtime.dispatcher.drain(10)
    return 0


def _ints(text: str) -> list[int]:
    return [int(x) for x in text.split(",")]


def _floats(text: str) -> list[float]:
    return [float(x) for x in text.split(",")]


def main() -> int:
    from core.ops.settings import QueueSettings

    defaults = QueueSettings()
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--conversations", type=int, default=500)
    parser.add_argument("--turns", type=int, default=3)
    parser.add_argument("--tokens-per-s", type=float, default=50.0)
    parser.add_argument("--concurrency", type=_ints, default=[defaults.concurrency],
                        help="messages answered at once (a list: one phase each)")
    parser.add_argument("--max-loop-lag-ms", type=_floats, default=[defaults.max_loop_lag_ms],
                        help="admission's loop-lag target, 0 = fixed concurrency (a list: one phase each)")
    parser.add_argument("--switch-ms", type=_floats, default=[sys.getswitchinterval() * 1000],
                        help="the interpreter's GIL switch interval (a list: one phase each)")
    parser.add_argument("--diagnose", action="store_true", help="slow callbacks, GC pauses, CPU per thread")
    parser.add_argument("--tracemalloc", action="store_true", help="Python memory growth (slows the run)")
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
