"""Exactly one visible answer across a worker crash, on Slack, for a multi-part answer: a real
`deskmate serve --role worker` process is SIGKILLed while it streams part 2 of a long answer into a channel thread;
a second worker takes the message over (queue redelivery) and writes its parts into the *same* Slack messages
(part 1 into message 1, part 2 into message 2) and posts only the parts beyond them. Real Redis, the fake Slack
Web API and the fake LLM; the receiver runs in this process (tests/fakes/slack_api.py `slack_rig`)."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from pathlib import Path

from tests.fakes.llm_server import Reply
from tests.fakes.slack_api import slack_rig, wait_for
from tests.support.queue import redis_url
from tests.support.redis_faults import free_port
from tests.support.workers import SHARED_VAULT_KEY, stop_processes

ROOT = Path(__file__).resolve().parents[1]
PART = 300  # characters per Slack message: the answer below takes 4-5 messages


def _worker(tmp_path: Path, name: str) -> subprocess.Popen[bytes]:
    env = {**os.environ, "DESKMATE_HTTP__PORT": str(free_port()), "DESKMATE_DATA_DIR": str(tmp_path / name)}
    log = (tmp_path / f"{name}.log").open("wb")
    return subprocess.Popen([sys.executable, "-m", "bots.cli", "serve", "--role", "worker"], cwd=ROOT, env=env,
                            stdout=log, stderr=subprocess.STDOUT)



async def test_slack_worker_killed_in_part_two_leaves_one_complete_answer(llm_server, redis, monkeypatch,
                                                                          tmp_path):
    monkeypatch.setenv("DESKMATE_REDIS_URL", redis_url(redis))
    monkeypatch.setenv("DESKMATE_QUEUE__ROLE", "receiver")  # this process receives; the workers answer
    monkeypatch.setenv("DESKMATE_QUEUE__CLAIM_IDLE_S", "2")
    monkeypatch.setenv("DESKMATE_PII__VAULT_KEY", SHARED_VAULT_KEY)  # shared by every worker
    monkeypatch.setenv("DESKMATE_PII__SPACY_MODEL", "")
    monkeypatch.setenv("DESKMATE_SLACK__MAX_MESSAGE_CHARS", str(PART))
    monkeypatch.setenv("DESKMATE_SLACK__STREAM_FLUSH_S", "0.3")
    monkeypatch.setenv("DESKMATE_SLACK__STREAM_BATCH_CHARS", "40")
    answer = " ".join(f"step{i}" for i in range(200)) + "."
    llm_server.responder = lambda body: Reply(answer, ttft_s=0.2, chunk_delay_s=0.04)  # ~8 s of streaming
    first = second = None
    try:
        async with slack_rig(llm_server, monkeypatch) as rig:
            first = _worker(tmp_path, "worker-a")
            question = await rig.mention("explain every step")

            def shown() -> list:  # the answer's messages (not the Stop button posted under it while it is written)
                return [m for m in rig.slack.thread("C1", question) if m.kind != "ephemeral" and not stop_of(m)]

            # worker A streams part 1, seals it, starts part 2 ... and dies in the middle of part 2
            await wait_for(lambda: len(shown()) >= 2 and len(shown()[1].text) > 20, within_s=120)
            os.kill(first.pid, signal.SIGKILL)
            first.wait(timeout=10)
            before = [(m.ts, m.text) for m in shown()]
            assert len(before) == 2 and 0 < len(before[1][1]) < PART, "killed in the middle of part 2"
            second = _worker(tmp_path, "worker-b")
            await wait_for(lambda: any(any(b.get("type") == "actions" for b in m.blocks) for m in shown()),
                           within_s=180)  # worker B starts (imports, models) and takes the message over
            await rig.answered("C1", question)
            await asyncio.sleep(1.5)  # anything else worker B would post arrives by now

            after = shown()
            words = " ".join(m.text for m in after).split()
            assert [m.ts for m in after[:2]] == [ts for ts, _ in before], "parts 1 and 2 stay in their messages"
            assert words.count("step0") == 1, "part 1 is shown once"
            assert " ".join(words).rstrip(".") == answer.rstrip("."), "the whole answer, once, in order"
            assert all(not m.streaming for m in after), "no message is left streaming"
            assert not any(stop_of(m) for m in rig.slack.thread("C1", question)), "no Stop button is left"
            assert all(len(m.text) <= PART + 20 for m in after)
            assert any(b.get("type") == "actions" for b in after[-1].blocks), "feedback buttons on the last part"
            assert len(llm_server.requests_for("gpt-4o-mini")) >= 2, "worker B answered anew"
            updated = {c.args.get("ts") for c in rig.slack.calls_to("chat.update") if c.ok}
            assert {ts for ts, _ in before} <= updated, "worker B edited A's messages instead of posting again"
    finally:
        stop_processes(first, second)


def stop_of(message) -> bool:
    return any(e.get("action_id") == "deskmate_stop" for b in message.blocks for e in b.get("elements") or [])
