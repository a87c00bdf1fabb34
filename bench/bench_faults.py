"""Fault benchmark (issue 21): per scenario, messages sent / answered once / answered twice / lost / 5xx.

Runs the whole product (runtime + Slack or Telegram receiver on a local HTTP server) against the fake Slack Web
API, the fake Bot API and the fake LLM from tests/fakes, with a real redis-server on a TCP port that a scenario
kills (SIGKILL) and starts again on the same port. The bench plays the platform: Slack retries a delivery that
got no 2xx (X-Slack-Retry-Num 1..3; compressed to 1 s, 2 s, 4 s instead of Slack's ~0 s, 1 min, 5 min),
Telegram delivers a webhook update again every second until it gets a 2xx.

A message counts as answered when its thread/chat shows a reply that is not only an apology ("something went
wrong"); "lost" means it never does. (The shipped profiles' evidence gate may answer "I didn't find anything
reliable": that is an answer.) "5xx" counts responses >= 500 except a deliberate 503 while the platform will
retry, which is shown as "503 retry" (the receiver asks for the redelivery; nothing is held or lost).
Target: answered once = sent, and 0 of the rest.

    python bench/bench_faults.py [--only NAME ...] [--down-s 3]

More scenarios (worker processes killed mid-answer, Telegram polling with Redis down, every model hanging, a side
provider answering 429 forever) are in bench/faults_more.py.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import hmac
import io
import json
import os
import random
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from bench.offline import isolate  # noqa: E402
from bench.reveal import ungated_profiles  # noqa: E402

isolate()

from core.log import configure_logging  # noqa: E402
from tests.fakes.llm_server import FakeLLM, Reply  # noqa: E402
from tests.fakes.slack_api import SECRET, SlackRig, slack_rig  # noqa: E402
from tests.fakes.telegram_api import FakeBotAPI  # noqa: E402
from tests.support.redis_faults import RestartableRedis  # noqa: E402

SLACK_RETRY_DELAYS_S = (1.0, 2.0, 4.0)
ANSWER = "Restart the VPN client and sign in again, then check the status icon is green."
PRIVATE = 555


class _Env:
    def setenv(self, name: str, value: str) -> None:
        os.environ[name] = value


@dataclass
class Row:
    name: str
    sent: int = 0
    once: int = 0
    twice: int = 0
    lost: int = 0
    errors_5xx: int = 0
    retry_503: int = 0
    note: str = ""


class SlackPlatformSim:
    """Delivers events as Slack does: retries a non-2xx (or a timeout) up to three times."""

    def __init__(self, rig: SlackRig, row: Row) -> None:
        self.rig = rig
        self.row = row
        self.tasks: list[asyncio.Task[None]] = []

    def count(self, status: int, retry: int) -> None:
        if status == 503 and retry < 3:
            self.row.retry_503 += 1
        elif status >= 500:
            self.row.errors_5xx += 1

    async def _post(self, payload: dict[str, Any], retry: int) -> int:
        headers = {"X-Slack-Retry-Num": str(retry), "X-Slack-Retry-Reason": "http_error"} if retry else None
        try:
            resp = await asyncio.wait_for(self.rig.post(json.dumps(payload), headers=headers), 3.0)
        except TimeoutError:
            return 0  # Slack gives up waiting after 3 s and retries
        return resp.status

    async def _deliver(self, payload: dict[str, Any]) -> None:
        for retry in range(4):
            if retry:
                await asyncio.sleep(SLACK_RETRY_DELAYS_S[retry - 1])
            status = await self._post(payload, retry)
            self.count(status, retry)
            if 200 <= status < 300:
                return

    def send(self, text: str, n: int) -> str:
        ts = self.rig.next_ts()
        payload = {"token": "x", "team_id": "T1", "api_app_id": "A1", "type": "event_callback",
                   "event_id": f"Ev{n}-{time.perf_counter_ns()}", "event_time": int(time.time()),
                   "event": {"type": "app_mention", "user": "U1", "text": f"<@UBOT> {text}", "ts": ts,
                             "channel": "C1", "team": "T1", "event_ts": ts}}
        self.row.sent += 1
        self.tasks.append(asyncio.create_task(self._deliver(payload)))
        return ts

    async def settle(self) -> None:
        await asyncio.gather(*self.tasks)


APOLOGIES = ("internal", "shutting_down")


def is_answer(shown: str) -> bool:
    """A reply a user can use: any bot text that is not only an apology (a partial answer ending in one counts
    as an answer; the same question answered again later shows up as a second one)."""
    from core.texts import text

    cleaned = shown.strip()
    return bool(cleaned) and not any(cleaned == text(key, lang) for key in APOLOGIES for lang in ("en", "ru"))


def tally(row: Row, replies: list[str]) -> None:
    shown = sum(is_answer(r) for r in replies)
    if shown == 0:
        row.lost += 1
        if os.environ.get("BENCH_FAULTS_DEBUG"):
            print("  lost:", [r[:120] for r in replies], file=sys.stderr)
    elif shown == 1:
        row.once += 1
    else:
        row.twice += 1


def tally_slack(rig: SlackRig, row: Row, threads: list[str]) -> None:
    for ts in threads:
        tally(row, [m.text for m in rig.slack.thread("C1", ts)])


async def wait_answers(rig: SlackRig, threads: list[str], within_s: float) -> None:
    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline:
        if all(any(is_answer(m.text) for m in rig.slack.thread("C1", ts)) for ts in threads):
            await asyncio.sleep(1.0)  # a second answer would show up now, not later
            return
        await asyncio.sleep(0.1)


async def until(check: Any, within_s: float) -> None:
    deadline = time.monotonic() + within_s
    while True:
        if check() or time.monotonic() > deadline:
            return
        await asyncio.sleep(0.1)


def first_text_at(rig: SlackRig, ts: str) -> float | None:
    """When the first text a user could see in thread `ts` was sent (the fakes' perf_counter clock)."""
    def thread_of(call: Any) -> Any:
        shown = rig.slack.messages.get(str(call.args.get("ts")))
        return shown.thread_ts if shown is not None else call.args.get("thread_ts")

    times = [c.at for c in rig.slack.calls if c.ok and c.text.strip() and thread_of(c) == ts
             and c.method in ("chat.startStream", "chat.appendStream", "chat.postMessage", "chat.update")]
    return min(times) if times else None


def answer_everything(llm: FakeLLM, text: str = ANSWER, **reply: Any) -> None:
    def responder(body: dict) -> Reply:
        return Reply(text, **reply)

    llm.responder = responder


def signed(body: bytes) -> dict[str, str]:
    stamp = str(int(time.time()))
    digest = hmac.new(SECRET.encode(), b"v0:" + stamp.encode() + b":" + body, hashlib.sha256).hexdigest()
    return {"X-Slack-Request-Timestamp": stamp, "X-Slack-Signature": f"v0={digest}", "Content-Type": "application/json"}


# ------------------------------------------------------------------------------------------------ scenarios


async def junk_slack(llm: FakeLLM, args: argparse.Namespace, tmp: Path) -> Row:
    row = Row("slack: 1,000 junk/mutated bodies, then 1 real message")
    answer_everything(llm)
    rng = random.Random(7)
    seed = json.dumps({"type": "event_callback", "team_id": "T1", "event_id": "EvJUNK",
                       "event": {"type": "app_mention", "user": "U1", "ts": "1.1", "channel": "C9", "text": "hi"}})
    async with slack_rig(llm, _Env()) as rig:
        for i in range(1000):
            body = bytearray(seed.encode())
            for _ in range(rng.randint(1, 3)):
                pos = rng.randrange(len(body) + 1)
                body[pos:pos] = rng.choice([b"\\ud800", b"\xff", b"{", b'"', b"\x00", rng.randbytes(4)])
            headers = signed(bytes(body)) if i % 2 else {"Content-Type": "application/json"}
            async with rig.session.post(rig.url, data=bytes(body), headers=headers) as resp:
                await resp.read()
                if resp.status >= 500:
                    row.errors_5xx += 1
        sim = SlackPlatformSim(rig, row)
        threads = [sim.send("my vpn is broken", 0)]
        await sim.settle()
        await wait_answers(rig, threads, 20)
        tally_slack(rig, row, threads)
    return row


async def surrogates_slack(llm: FakeLLM, args: argparse.Namespace, tmp: Path) -> Row:
    row = Row("slack: 5 signed messages with lone surrogates / control chars")
    answer_everything(llm)
    async with slack_rig(llm, _Env()) as rig:
        sim = SlackPlatformSim(rig, row)
        threads = [sim.send(f"reset \ud800my\x00 pass\x1bword {n}\udfff", n) for n in range(5)]
        await sim.settle()
        await wait_answers(rig, threads, 20)
        tally_slack(rig, row, threads)
    return row


async def redis_restart_slack(llm: FakeLLM, args: argparse.Namespace, tmp: Path) -> Row:
    row = Row(f"slack: redis kill -9, back after {args.down_s:g} s, 10 new messages")
    answer_everything(llm)
    async with RestartableRedis(tmp / "redis-a") as server, slack_rig(
            llm, _Env(), DESKMATE_REDIS_URL=server.url, DESKMATE_QUEUE__CLAIM_IDLE_S="5") as rig:
        sim = SlackPlatformSim(rig, row)
        warm = sim.send("before the outage", 99)
        await wait_answers(rig, [warm], 20)
        row.sent -= 1
        server.kill()
        threads = []
        for n in range(10):
            threads.append(sim.send(f"question {n} while redis restarts", n))
            await asyncio.sleep(args.down_s / 10)
        await server.start()
        await sim.settle()
        await wait_answers(rig, threads, 40)
        tally_slack(rig, row, threads)
    return row


async def redis_mid_answer_slack(llm: FakeLLM, args: argparse.Namespace, tmp: Path) -> Row:
    row = Row(f"slack: redis kill -9 1.8 s into 3 answers, back after {args.down_s:g} s")
    long_answer = ANSWER + " " + " ".join(f"step{i}" for i in range(80))
    answer_everything(llm, long_answer, chunk_delay_s=0.05)
    async with RestartableRedis(tmp / "redis-b") as server, slack_rig(
            llm, _Env(), DESKMATE_REDIS_URL=server.url, DESKMATE_QUEUE__CLAIM_IDLE_S="5") as rig:
        sim = SlackPlatformSim(rig, row)
        threads = [sim.send(f"long question {n}", n) for n in range(3)]
        await asyncio.sleep(1.8)
        server.kill()
        await asyncio.sleep(args.down_s)
        await server.start()
        await sim.settle()
        await wait_answers(rig, threads, 30)
        await asyncio.sleep(8)  # a takeover after claim_idle_s would answer again now
        tally_slack(rig, row, threads)
    return row


async def redis_restart_telegram(llm: FakeLLM, args: argparse.Namespace, tmp: Path) -> Row:
    from tests.support.telegram import running, telegram_env

    row = Row(f"telegram webhook: redis kill -9, back after {args.down_s:g} s, 10 updates")
    answer_everything(llm)
    env = _Env()
    async with FakeBotAPI() as tg, RestartableRedis(tmp / "redis-c") as server:
        telegram_env(env, tg, llm, _Path(server))  # type: ignore[arg-type]
        os.environ["DESKMATE_REDIS_URL"] = server.url
        async with running(tg, llm) as app:
            server.kill()

            async def deliver(update: dict[str, Any]) -> None:
                for _ in range(30):
                    try:
                        status = await asyncio.wait_for(app.post(update), 5)
                    except TimeoutError:
                        status = 0
                    if status == 503:
                        row.retry_503 += 1
                    elif status >= 500:
                        row.errors_5xx += 1
                    if 200 <= status < 300:
                        return
                    await asyncio.sleep(1.0)

            updates = [tg.message_update(PRIVATE + n, f"question {n}") for n in range(10)]
            tasks = []
            for update in updates:
                row.sent += 1
                tasks.append(asyncio.create_task(deliver(update)))
                await asyncio.sleep(args.down_s / 10)
            await server.start()
            await asyncio.gather(*tasks)
            await until(lambda: all(tg.chat_messages(PRIVATE + n) for n in range(10)), 30)
            await asyncio.sleep(1.0)
            await app.settle()
            for n in range(10):
                tally(row, [m.text for m in tg.chat_messages(PRIVATE + n)])
        os.environ.pop("DESKMATE_REDIS_URL", None)
    return row


class _Path:
    """What telegram_env reads from a redis client: its unix socket path (replaced by the TCP URL above)."""

    def __init__(self, server: RestartableRedis) -> None:
        self.connection_pool = type("P", (), {"connection_kwargs": {"path": "/nonexistent"}})()


SCENARIOS = {
    "junk": junk_slack,
    "surrogates": surrogates_slack,
    "redis_restart": redis_restart_slack,
    "redis_mid_answer": redis_mid_answer_slack,
    "redis_telegram": redis_restart_telegram,
}


def scenarios() -> dict[str, Any]:
    """Every scenario: the ones above and those in bench/faults_more.py (worker kills, polling, hangs, side 429s)."""
    from bench.faults_more import SCENARIOS as MORE

    return {**SCENARIOS, **MORE}


async def run(args: argparse.Namespace, log_to: Any) -> None:
    configure_logging("info" if args.log else "error", "json", log_to)
    rows: list[Row] = []
    for name in args.only or list(scenarios()):
        for leftover in [n for n in os.environ if n.startswith("DESKMATE_")]:
            del os.environ[leftover]  # each scenario configures its own platform and Redis
        with tempfile.TemporaryDirectory() as tmp:
            os.environ["DESKMATE_DATA_DIR"] = tmp
            os.environ["DESKMATE_LIMITS__USER_PER_MINUTE"] = "0"
            os.environ["DESKMATE_LIMITS__TENANT_PER_MINUTE"] = "0"
            os.environ["DESKMATE_PROFILES_DIR"] = str(ungated_profiles(Path(tmp) / "profiles"))  # model calls
            async with FakeLLM() as llm:
                try:
                    row = await scenarios()[name](llm, args, Path(tmp))
                except Exception as exc:  # a scenario that cannot even run is a result too
                    row = Row(name, note=f"scenario failed: {type(exc).__name__}: {exc}"[:160])
            rows.append(row)
            print(f"{row.name:<66} sent {row.sent:>3}  once {row.once:>3}  twice {row.twice:>3}  "
                  f"lost {row.lost:>3}  5xx {row.errors_5xx:>3}  503-retry {row.retry_503:>3}  {row.note}",
                  flush=True)
    ok = all(r.once == r.sent and not (r.twice or r.lost or r.errors_5xx) for r in rows)
    print("target met (answered once = sent, 0 twice/lost/5xx):", "yes" if ok else "no")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", nargs="*", choices=list(scenarios()))
    parser.add_argument("--log", help="write the product's structured logs (info) to this file")
    parser.add_argument("--down-s", type=float, default=3.0, help="how long Redis stays down")
    args = parser.parse_args()
    log_to = open(args.log, "w") if args.log else io.StringIO()
    with log_to:
        asyncio.run(run(args, log_to))


if __name__ == "__main__":
    main()
