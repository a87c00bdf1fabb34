"""Exactly one visible answer across a worker crash: a real `deskmate serve --role worker` process is killed with
SIGKILL while it streams an answer into a Telegram group; a second worker takes the message over (queue
redelivery) and finishes the *same* Telegram message instead of sending a second one. Real Redis, the fake
Bot API and the fake LLM; the receiver runs in this process."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

from cryptography.fernet import Fernet

from tests.fakes.llm_server import Reply
from tests.fakes.telegram_api import BOT_USERNAME
from tests.support.telegram import running, telegram_env
from tests.support.workers import stop_processes

ROOT = Path(__file__).resolve().parents[1]
GROUP = -100777888


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _worker(tmp_path: Path, name: str) -> subprocess.Popen[bytes]:
    env = {**os.environ, "DESKMATE_HTTP__PORT": str(_free_port()), "DESKMATE_QUEUE__CLAIM_IDLE_S": "2",
           "DESKMATE_DATA_DIR": str(tmp_path / name)}
    log = (tmp_path / f"{name}.log").open("wb")
    return subprocess.Popen([sys.executable, "-m", "bots.cli", "serve", "--role", "worker"], cwd=ROOT, env=env,
                            stdout=log, stderr=subprocess.STDOUT)


async def test_worker_killed_mid_stream_leaves_one_complete_message(telegram_api, llm_server, redis, monkeypatch,
                                                                     tmp_path):
    telegram_env(monkeypatch, telegram_api, llm_server, redis, EDIT_INTERVAL_S="0.3")
    monkeypatch.setenv("DESKMATE_QUEUE__ROLE", "receiver")  # this process receives; workers answer
    monkeypatch.setenv("DESKMATE_QUEUE__CLAIM_IDLE_S", "2")
    monkeypatch.setenv("DESKMATE_PII__VAULT_KEY", Fernet.generate_key().decode())  # shared by every worker
    answer = " ".join(f"step{i}" for i in range(160)) + "."
    llm_server.responder = lambda body: Reply(answer, ttft_s=0.2, chunk_delay_s=0.04)  # ~6.5 s of streaming
    first = _worker(tmp_path, "worker-a")
    second: subprocess.Popen[bytes] | None = None
    try:
        async with running(telegram_api, llm_server) as app:
            tag = f"@{BOT_USERNAME}"
            update = telegram_api.message_update(GROUP, f"{tag} explain every step",
                                                 entities=[{"type": "mention", "offset": 0, "length": len(tag)}])
            question = update["message"]["message_id"]
            assert await app.post(update) == 200

            def shown() -> list:
                return [m for m in telegram_api.chat_messages(GROUP) if m.reply_to == question]

            # the first worker starts, streams into a message, and dies in the middle of it
            await telegram_api.wait_for(lambda: bool(shown()) and shown()[0].edits >= 1, within_s=120)
            os.kill(first.pid, signal.SIGKILL)
            first.wait(timeout=10)
            half = shown()[0].text
            assert 0 < len(half) < len(answer), "killed mid-stream"
            second = _worker(tmp_path, "worker-b")
            await telegram_api.wait_for(lambda: any(m.reply_markup for m in telegram_api.chat_messages(GROUP)),
                                        within_s=120)
            await asyncio.sleep(1.0)  # anything else the second worker would send arrives by now

        bot_messages = telegram_api.chat_messages(GROUP)
        assert len(bot_messages) == 1, [m.text[:40] for m in bot_messages]
        [message] = bot_messages
        assert message.reply_to == question
        assert message.text.startswith(answer), "the half-written message now holds the whole answer"
        assert message.reply_markup is not None, "with its feedback buttons"
        assert len(llm_server.requests_for("gpt-4o-mini")) >= 2, "the second worker answered anew"
    finally:
        stop_processes(first, second)


async def test_takeover_after_part_two_of_three_edits_parts_one_and_two_and_sends_part_three(
        telegram_api, llm_server, redis, monkeypatch):
    """A three-part answer in a private chat (drafts, then one sendMessage per part): the first worker dies while
    part 2 is permanent and part 3 is only a draft. The answer run again for the same message edits message 1 and
    message 2 with its own parts and sends part 3: part 1 is never shown twice, nothing stale is left."""
    import random

    from core.models import Final, Inbound, TextDelta

    telegram_env(monkeypatch, telegram_api, llm_server, redis, mode="polling")
    rng = random.Random(5)
    words = lambda tag: " ".join(f"{tag}{rng.randint(0, 99_999)}" for _ in range(400))  # noqa: E731  ~3.6k chars
    chat = 4242
    inbound = Inbound(platform="telegram", bot="default", tenant="1", channel=str(chat), user=str(chat),
                      text="explain everything", message_id=f"{chat}:7", is_private=True,
                      extras={"chat_id": chat, "chat_type": "private"})

    async def died_in_part_three(text: str):
        for i in range(0, len(text), 400):
            yield TextDelta(text=text[i:i + 400])
            await asyncio.sleep(0.1)  # a model's pace: the loop previews and seals parts as they fill
        raise RuntimeError("worker killed")  # the stream ends without a Final: nothing is finished

    async def whole(text: str):
        for i in range(0, len(text), 400):
            yield TextDelta(text=text[i:i + 400])
            await asyncio.sleep(0.1)  # a model's pace: the loop previews and seals parts as they fill
        yield Final(reply_id="r2", text=text)

    async with running(telegram_api, llm_server) as app:
        responder = app.platform.responder
        first = words("old") + " " + words("old") + " " + words("old")[:1500]
        try:
            await responder.respond(inbound, died_in_part_three(first))
        except RuntimeError:
            pass
        before = telegram_api.chat_messages(chat)
        assert len(before) == 2, [len(m.text) for m in before]  # parts 1 and 2 sent, part 3 was a draft
        second = words("new") + " " + words("new") + " " + words("new")[:1500]
        await responder.respond(inbound, whole(second))
        after = telegram_api.chat_messages(chat)
    assert [m.message_id for m in after[:2]] == [m.message_id for m in before], "parts 1-2 edited in place"
    assert len(after) == 3, [m.text[:30] for m in after]
    shown = " ".join(m.text for m in after)
    assert "old" not in shown, "no stale text of the dead worker's answer"
    assert shown.split() == second.split(), "the new answer, whole, once, in order"
    assert after[-1].reply_markup is not None
