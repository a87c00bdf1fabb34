"""Redis killed (kill -9) and started again on the same port while Deskmate runs: nothing lost, nothing twice.

A real redis-server on TCP; the real Slack/Telegram receivers on a local HTTP server; fake Slack, Bot API and LLM.
"""

from __future__ import annotations

import asyncio

from tests.fakes.slack_api import slack_rig, wait_for
from tests.support.redis_faults import RestartableRedis
from tests.support.telegram import running, telegram_env

PRIVATE = 555


def mention_event(rig, text: str) -> dict:
    ts = rig.next_ts()
    return {"type": "app_mention", "user": "U1", "text": f"<@UBOT> {text}", "ts": ts, "channel": "C1", "team": "T1",
            "event_ts": ts}


def streams_in(rig, ts: str) -> int:
    return len([c for c in rig.slack.calls_to("chat.startStream") if c.args.get("thread_ts") == ts])


async def test_slack_while_redis_is_down_asks_for_a_retry_then_takes_the_last_one(llm_server, monkeypatch, tmp_path,
                                                                                    logs):
    async with RestartableRedis(tmp_path / "redis") as server, slack_rig(
            llm_server, monkeypatch, DESKMATE_REDIS_URL=server.url, DESKMATE_QUEUE__CLAIM_IDLE_S="2") as rig:
        before = await rig.mention("asked before the outage")
        await rig.answered("C1", before)
        readiness = rig.runtime.ops.readiness

        server.kill()
        first = mention_event(rig, "asked while redis is down")
        resp = await rig.event(first, event_id="EvDOWN")
        assert resp.status == 503  # Slack will retry: it keeps the event, we keep nothing
        for retry in (1, 2):
            assert (await rig.event(first, event_id="EvDOWN", retry=retry)).status == 503
        last = mention_event(rig, "the last retry while redis is down")
        assert (await rig.event(last, event_id="EvLAST", retry=3)).status == 200  # no retry comes: held locally
        await wait_for(lambda: len(rig.runtime.dispatcher.spool) == 1)
        ok, checks = await readiness.run()
        assert not ok and not checks["redis"] and not checks["queue_spool"]
        assert "held locally" in readiness.reasons["queue_spool"]

        await asyncio.sleep(1.0)
        await server.start()  # back on the same port, empty (kill -9 saved nothing)
        assert (await rig.event(first, event_id="EvDOWN", retry=3)).status == 200  # Slack's last retry of it
        after = await rig.mention("asked after the restart")  # stale pooled connections are checked, not reused
        for ts in (first["ts"], last["ts"], after):
            await rig.answered("C1", ts)
        ok, checks = await readiness.run()
        assert ok, readiness.reasons
        await rig.idle()
        assert [streams_in(rig, ts) for ts in (before, first["ts"], last["ts"], after)] == [1, 1, 1, 1]
        assert len(llm_server.requests_for("gpt-4o-mini")) == 4
    errors = [e for e in logs.events() if e.get("level") == "error" or "exception" in e]
    assert errors == [], errors[:3]
    assert "Traceback" not in logs.text


async def test_slack_event_taken_while_down_is_not_answered_twice_when_it_was_queued_before(
        llm_server, monkeypatch, tmp_path):
    """A delivery queued just before Redis died, delivered again (Slack's last retry) while it is down: the
    flush recognises the same event and does not queue it twice."""
    async with RestartableRedis(tmp_path / "redis") as server, slack_rig(
            llm_server, monkeypatch, DESKMATE_REDIS_URL=server.url) as rig:
        dispatcher = rig.runtime.dispatcher
        event = mention_event(rig, "one question")
        dispatcher.consume_on_submit = False  # queued, not yet picked up
        await rig.event(event, event_id="EvTWICE")
        for _ in range(200):
            if await rig.runtime.redis.xlen(dispatcher.stream):
                break
            await asyncio.sleep(0.01)
        server.stop()  # a clean save this time: the queued entry survives the restart
        assert (await rig.event(event, event_id="EvTWICE", retry=3)).status == 200
        await wait_for(lambda: len(dispatcher.spool) == 1)
        await server.start()
        dispatcher.consume_on_submit = True
        await wait_for(lambda: len(dispatcher.spool) == 0)
        await dispatcher.start()
        await rig.answered("C1", event["ts"])
        await asyncio.sleep(0.5)
        await rig.idle()
        assert streams_in(rig, event["ts"]) == 1


async def test_telegram_webhook_while_redis_is_down_gets_503_then_the_redelivery_is_answered_once(
        telegram_api, llm_server, redis, monkeypatch, tmp_path, logs):
    async with RestartableRedis(tmp_path / "redis") as server:
        telegram_env(monkeypatch, telegram_api, llm_server, redis)
        monkeypatch.setenv("DESKMATE_REDIS_URL", server.url)
        async with running(telegram_api, llm_server) as app:
            update = telegram_api.message_update(PRIVATE, "where is my order?")
            server.kill()
            assert await app.post(update) == 503  # Telegram keeps it and delivers it again
            await server.start()
            assert await app.post(update) == 200  # the redelivery
            assert await app.post(update) == 200  # and a duplicate of it
            await telegram_api.wait_for(lambda: len(telegram_api.chat_messages(PRIVATE)) >= 1)
            await app.settle()
        assert len(telegram_api.chat_messages(PRIVATE)) == 1
        assert len(llm_server.requests_for("gpt-4o-mini")) == 1
    assert "Traceback" not in logs.text


async def test_telegram_polling_while_redis_restarts_answers_every_update_once(
        telegram_api, llm_server, redis, monkeypatch, tmp_path, logs):
    """Long polling (no webhook, so no redelivery: getUpdates has confirmed the offset) while a real redis-server is
    killed -9 and started again 3 s later on the same port: updates fetched meanwhile are held locally and answered
    once Redis is back, the ones before and after as usual; none lost, none twice."""
    chats = [PRIVATE + n for n in range(8)]
    async with RestartableRedis(tmp_path / "redis") as server:
        telegram_env(monkeypatch, telegram_api, llm_server, redis, mode="polling")
        monkeypatch.setenv("DESKMATE_REDIS_URL", server.url)
        async with running(telegram_api, llm_server) as app:
            telegram_api.push_update(telegram_api.message_update(chats[0], "asked before the outage"))
            await telegram_api.wait_for(lambda: bool(telegram_api.chat_messages(chats[0])), within_s=20)
            server.kill()
            for chat in chats[1:6]:  # fetched by getUpdates while Redis is down
                telegram_api.push_update(telegram_api.message_update(chat, f"asked while redis is down {chat}"))
                await asyncio.sleep(0.6)
            await server.start()  # empty: kill -9 saved nothing
            for chat in chats[6:]:
                telegram_api.push_update(telegram_api.message_update(chat, f"asked after the restart {chat}"))
            await telegram_api.wait_for(lambda: all(telegram_api.chat_messages(c) for c in chats), within_s=60)
            await asyncio.sleep(2.0)  # a second answer (a replayed spool, a takeover) would come now
            await app.settle(within_s=30)
        answers = {c: len(telegram_api.chat_messages(c)) for c in chats}
        assert answers == {c: 1 for c in chats}, answers
        assert len(llm_server.requests_for("gpt-4o-mini")) == len(chats)
    held = [e for e in logs.events() if e.get("event") == "telegram_redis_unreachable"]
    assert held, "updates really were fetched while Redis was down (others wait out the client's retries)"
    assert "Traceback" not in logs.text
