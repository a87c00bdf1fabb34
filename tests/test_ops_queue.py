"""The Redis Stream between receiving and answering: crash recovery, exactly-once answers, graceful stop.

Workers here are real processes (the same composition `deskmate serve --role worker` runs) sharing the
test's Redis; the responder "sends" by appending each event to a Redis list, as a platform would show it.
"""

from __future__ import annotations

import asyncio
import signal
import time
from pathlib import Path

import redis.asyncio as aioredis

from bots.composition import open_runtime
from core.models import Final
from core.ops.settings import QueueSettings
from core.state.keys import key
from tests.support.queue import RecordingResponder, inbound, ops_settings
from tests.support.workers import SHARED_VAULT_KEY, sent, start_workers, wait_for


async def receiver(tmp_path: Path, redis: aioredis.Redis):
    """The receiving side alone (role receiver): queues, never answers."""
    return open_runtime(ops_settings(tmp_path, redis, queue={"role": "receiver"},
                                     pii={"vault_key": SHARED_VAULT_KEY}))


async def test_worker_killed_mid_message_is_answered_exactly_once_by_another(
        tmp_path: Path, redis: aioredis.Redis, llm_server) -> None:
    llm_server.tokens_per_s = 12  # ~3 s per answer: time to kill the worker in the middle
    stream, group = key("queue", QueueSettings().stream), QueueSettings().group
    procs = await start_workers(tmp_path, redis, llm_server, "w1", "w2")
    message = inbound("Where do I find the VPN settings?")
    try:
        async with await receiver(tmp_path, redis) as rx:
            await rx.dispatcher.submit(message)

        async def some_text_sent() -> bool:
            return sum(e["type"] == "text" for e in await sent(redis, message.message_id)) >= 3

        await wait_for(some_text_sent)
        (entry,) = await redis.xpending_range(stream, group, "-", "+", 10)
        owner_pid = int(entry["consumer"].decode().split("-")[-2])
        victim = next(p for p in procs if p.pid == owner_pid)
        survivor = next(p for p in procs if p is not victim)
        victim.send_signal(signal.SIGKILL)
        await victim.wait()
        before = await sent(redis, message.message_id)
        assert not any(e["type"] in ("final", "error") for e in before)  # it died mid-answer

        async def answered() -> bool:
            return any(e["type"] == "final" for e in await sent(redis, message.message_id))

        await wait_for(answered)
        await asyncio.sleep(2.0)  # past another claim period: nobody answers it again
        events = await sent(redis, message.message_id)
        finals = [e for e in events if e["type"] == "final"]
        assert len(finals) == 1
        assert finals[0]["text"].startswith("You asked about: Where do I find the VPN settings?")
        assert events[-1]["type"] == "final"
        assert await redis.xlen(stream) == 0  # acknowledged and removed
        assert (await redis.xpending(stream, group))["pending"] == 0
        survivor.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(survivor.wait(), 30) == 0
    finally:
        for proc in procs:
            if proc.returncode is None:
                proc.kill()
                await proc.wait()


async def test_sigterm_during_a_stream_lets_it_finish_with_a_complete_final_message(
        tmp_path: Path, redis: aioredis.Redis, llm_server) -> None:
    llm_server.tokens_per_s = 15
    (worker,) = await start_workers(tmp_path, redis, llm_server, "w3", DESKMATE_QUEUE__DRAIN_S="30")
    message = inbound("Can I change my password?")
    async with await receiver(tmp_path, redis) as rx:
        await rx.dispatcher.submit(message)

    async def streaming() -> bool:
        return sum(e["type"] == "text" for e in await sent(redis, message.message_id)) >= 2

    await wait_for(streaming)
    worker.send_signal(signal.SIGTERM)
    assert await asyncio.wait_for(worker.wait(), 40) == 0
    events = await sent(redis, message.message_id)
    assert events[-1]["type"] == "final"
    text = "".join(e["text"] for e in events if e["type"] == "text")
    assert text == events[-1]["text"] and "That is all for now." in text  # (then the sources it consulted)
    # a message queued after the stop was not taken: it waits in the stream for the next worker
    late = inbound("Anyone there?")
    async with await receiver(tmp_path, redis) as rx:
        await rx.dispatcher.submit(late)
    await asyncio.sleep(0.5)
    assert await sent(redis, late.message_id) == []
    assert await redis.xlen(key("queue", QueueSettings().stream)) == 1


async def test_drain_deadline_closes_open_streams_with_an_ending(tmp_path: Path, redis: aioredis.Redis,
                                                                 llm_server) -> None:
    llm_server.tokens_per_s = 10
    async with open_runtime(ops_settings(tmp_path, redis, llm_server)) as runtime:
        responder = RecordingResponder()
        runtime.dispatcher.register(responder)
        message = inbound("Tell me about the office hours")
        await runtime.dispatcher.submit(message)
        for _ in range(200):
            if sum(e.type == "text" for e in responder.sent.get(message.message_id, [])) >= 2:
                break
            await asyncio.sleep(0.05)
        await runtime.dispatcher.drain(0.2)
        events = responder.sent[message.message_id]
        assert responder.done(message.message_id).is_set()
        assert events[-1].type == "error" and events[-1].code == "shutting_down"
        assert events[-1].message.startswith("(Deskmate is restarting")
        assert sum(e.type in ("final", "error") for e in events) == 1


async def test_a_message_answered_but_not_acked_before_a_crash_is_not_answered_again(
        tmp_path: Path, redis: aioredis.Redis, llm_server) -> None:
    settings = ops_settings(tmp_path, redis, llm_server, queue={"role": "receiver", "claim_idle_s": 0.3})
    stream, group = key("queue", "inbound"), "workers"
    async with open_runtime(settings) as runtime:
        done, fresh = inbound("answered already"), inbound("not answered yet")
        await runtime.dispatcher.submit(done)
        await runtime.dispatcher.submit(fresh)
        # a worker that crashed: it read both, finished the first answer (recorded), acked neither
        entries = await redis.xreadgroup(group, "dead-worker", {stream: ">"}, count=10)
        first_id = entries[0][1][0][0].decode()
        await redis.set(key("queue", "done", first_id), b"1")
        responder = RecordingResponder()
        runtime.dispatcher.register(responder)
        await runtime.dispatcher.start()
        await asyncio.wait_for(responder.done(fresh.message_id).wait(), 20)
        for _ in range(100):
            if await redis.xlen(stream) == 0:
                break
            await asyncio.sleep(0.05)
        assert done.message_id not in responder.sent
        assert isinstance(responder.terminal(fresh.message_id), Final)
        assert await redis.xlen(stream) == 0
        await runtime.dispatcher.drain(5)


async def test_malformed_queue_entries_are_dropped_and_the_worker_keeps_going(tmp_path: Path, redis: aioredis.Redis,
                                                                              llm_server) -> None:
    async with open_runtime(ops_settings(tmp_path, redis, llm_server)) as runtime:
        responder = RecordingResponder()
        runtime.dispatcher.register(responder)
        await runtime.dispatcher.start()
        stream = key("queue", "inbound")
        await redis.xadd(stream, {"inbound": b"\xff\xfe not json"})
        await redis.xadd(stream, {"something": b"else"})
        message = inbound("still working?")
        await runtime.dispatcher.submit(message)
        await asyncio.wait_for(responder.done(message.message_id).wait(), 20)
        assert isinstance(responder.terminal(message.message_id), Final)
        await runtime.dispatcher.drain(5)
        assert await redis.xlen(stream) == 0


async def test_a_queued_message_is_encrypted_at_rest(tmp_path: Path, redis: aioredis.Redis) -> None:
    """Queued text is the user's words before masking: Redis (and its dumps) only ever hold ciphertext."""
    stream = key("queue", QueueSettings().stream)
    message = inbound("My card is 4111 1111 1111 1111, why was it declined?")
    async with await receiver(tmp_path, redis) as rx:
        await rx.dispatcher.submit(message)
    ((_entry_id, fields),) = await redis.xrange(stream)
    assert b"4111" not in fields[b"inbound"] and b"declined" not in fields[b"inbound"]
    from cryptography.fernet import Fernet

    from core.models import Inbound

    restored = Inbound.model_validate_json(Fernet(SHARED_VAULT_KEY.encode()).decrypt(fields[b"inbound"]))
    assert restored.text == message.text, "a worker with the shared vault key reads it back intact"


class BusyResponder(RecordingResponder):
    """A platform whose rendering holds the event loop (60 ms of CPU per answer); counts answers at once."""

    def __init__(self) -> None:
        super().__init__()
        self.now = 0
        self.most = 0

    async def respond(self, inbound, events) -> None:  # type: ignore[no-untyped-def]
        self.now += 1
        self.most = max(self.most, self.now)
        try:
            first = True
            async def held():  # type: ignore[no-untyped-def]
                nonlocal first
                async for event in events:
                    if first:
                        time.sleep(0.06)  # noqa: ASYNC251  (the point: CPU work that blocks the loop)
                        first = False
                    yield event
            await super().respond(inbound, held())
        finally:
            self.now -= 1


async def _burst(tmp_path: Path, redis: aioredis.Redis, llm_server, max_lag_ms: float) -> BusyResponder:
    settings = ops_settings(tmp_path, redis, llm_server,
                            queue={"concurrency": 20, "max_loop_lag_ms": max_lag_ms},
                            limits={"user_per_minute": 0, "tenant_per_minute": 0})
    async with open_runtime(settings) as runtime:
        responder = BusyResponder()
        runtime.dispatcher.register(responder)
        await runtime.dispatcher.start()
        warm = inbound("warm up: what is the VPN?", user="U-warm")  # models loaded before the burst
        await runtime.dispatcher.submit(warm)
        await asyncio.wait_for(responder.done(warm.message_id).wait(), 60)
        responder.most = 0
        messages = [inbound(f"burst question {i} about the VPN", user=f"U{i}") for i in range(20)]
        await asyncio.gather(*(runtime.dispatcher.submit(message) for message in messages))
        for message in messages:
            await asyncio.wait_for(responder.done(message.message_id).wait(), 60)
        assert all(isinstance(responder.terminal(m.message_id), Final) for m in messages)
        await runtime.dispatcher.drain(5)
    return responder


async def test_a_lagging_loop_admits_fewer_messages_at_once_and_still_answers_all(
        tmp_path: Path, redis: aioredis.Redis, llm_server) -> None:
    fixed = await _burst(tmp_path / "fixed", redis, llm_server, max_lag_ms=0)
    await redis.flushdb()
    adaptive = await _burst(tmp_path / "adaptive", redis, llm_server, max_lag_ms=25)
    assert fixed.most >= 18, "without a lag target every message up to `concurrency` is taken at once"
    assert adaptive.most <= 12, "with the loop lagging, the rest wait in the stream instead of slowing everyone"
