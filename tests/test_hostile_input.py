"""Hostile input to the running receivers (real HTTP server, real runtime, real Redis): a clear 4xx, never a 500.

Junk, truncated, mutated, mis-encoded, oversized and deeply nested bodies, signed and unsigned, to
POST /slack/events and POST /telegram/webhook: no 5xx, no traceback in any log, one log line per
rejected request, and the process still answers a real message afterwards. A message carrying lone
UTF-16 surrogates and control characters is cleaned and answered.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import random
import time
from typing import Any

import aiohttp
import pytest

from tests.fakes.slack_api import SECRET, slack_rig
from tests.support.telegram import SECRET as TG_SECRET
from tests.support.telegram import running, telegram_env

FUZZ_N = 1000
PRIVATE = 555


class Records(logging.Handler):
    """Every stdlib log record (aiohttp, bolt, aiogram log tracebacks there)."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def tracebacks(self) -> list[str]:
        return [r.getMessage()[:200] for r in self.records if r.exc_info or r.levelno >= logging.ERROR]


@pytest.fixture
def stdlib_logs():
    handler = Records()
    root = logging.getLogger()
    root.addHandler(handler)
    yield handler
    root.removeHandler(handler)


def no_tracebacks(logs: Any, stdlib: Records) -> None:
    assert "Traceback" not in logs.text
    assert not [e for e in logs.events() if "exception" in e or "frames" in e]
    assert stdlib.tracebacks() == []


def utf8(body: bytes) -> bool:
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def sign(body: bytes, secret: str = SECRET, ts: int | None = None) -> dict[str, str]:
    stamp = str(int(time.time()) if ts is None else ts)
    digest = hmac.new(secret.encode(), b"v0:" + stamp.encode() + b":" + body, hashlib.sha256).hexdigest()
    return {"X-Slack-Request-Timestamp": stamp, "X-Slack-Signature": f"v0={digest}"}


def slack_event(text: str, event_id: str, ts: str = "1700000000.000100") -> dict[str, Any]:
    return {"token": "x", "team_id": "T1", "api_app_id": "A1", "type": "event_callback", "event_id": event_id,
            "event_time": int(time.time()), "event": {"type": "app_mention", "user": "U1", "ts": ts,
                                                      "text": f"<@UBOT> {text}", "channel": "C1", "team": "T1"}}


def mutate(rng: random.Random, seed: bytes) -> bytes:
    """One random edit of a valid body: flip, cut, insert junk, duplicate, or replace with noise."""
    data = bytearray(seed)
    for _ in range(rng.randint(1, 4)):
        how = rng.randrange(7)
        pos = rng.randrange(len(data) + 1)
        if how == 0 and data:
            data[pos % len(data)] = rng.randrange(256)
        elif how == 1:
            data = data[:pos]
        elif how == 2:
            data[pos:pos] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 8)))
        elif how == 3:
            data[pos:pos] = rng.choice([b"\\ud800", b"\\udfff", b"\x00", b"\xed\xa0\x80", b"\xff", b"\\u0000",
                                        b'"', b"{", b"]", b"\x1b[31m", "\u202e".encode()])
        elif how == 4:
            data = bytearray(rng.choice([b"[]", b"null", b"1e999", b'"x"', b"{}", b"[" * 5000, b"{\"a\":" * 3000,
                                         b"payload=%7B", b"payload=not-json", b"a=1&b=2", b""]))
        elif how == 5:
            data = bytearray(rng.randbytes(rng.randint(0, 300)))
        else:
            data = data + data
    return bytes(data)


async def test_slack_fuzz_never_a_5xx_or_a_traceback(llm_server, monkeypatch, redis, logs, stdlib_logs):
    rng = random.Random(21)
    seeds = [json.dumps(slack_event("my vpn is broken", "EvFUZZ")).encode(),
             b"payload=" + json.dumps({"type": "block_actions", "user": {"id": "U1"}, "actions": []}).encode(),
             b"command=%2Fdeskmate&text=help&user_id=U1&channel_id=C1&team_id=T1"]
    statuses: dict[int, int] = {}
    unsigned_text = 0
    async with slack_rig(llm_server, monkeypatch) as rig:
        for i in range(FUZZ_N):
            body = mutate(rng, rng.choice(seeds))
            signed = i % 3 != 0  # two thirds signed correctly: they get past the signature to the parser
            headers = sign(body) if signed else {"X-Slack-Signature": "v0=" + "0" * 64,
                                                 "X-Slack-Request-Timestamp": str(int(time.time()))}
            headers["Content-Type"] = rng.choice(["application/json", "application/x-www-form-urlencoded"])
            async with rig.session.post(rig.url, data=body, headers=headers) as resp:
                await resp.read()
                statuses[resp.status] = statuses.get(resp.status, 0) + 1
                assert resp.status < 500, (resp.status, body[:200])
                if not signed:  # refused before parsing: no signature, or bytes that cannot carry one
                    assert resp.status == (401 if utf8(body) else 400)
                    unsigned_text += utf8(body)
        await rig.idle()
        ts = await rig.mention("still there?")  # the process keeps serving
        assert "still there?" in await rig.answered("C1", ts)
    assert statuses.get(400, 0) > 100 and statuses[401] == unsigned_text > 100
    no_tracebacks(logs, stdlib_logs)


async def test_slack_bad_bodies_get_a_clear_status_and_one_log_line(llm_server, monkeypatch, redis, logs,
                                                                    stdlib_logs):
    async with slack_rig(llm_server, monkeypatch) as rig:
        cases = [  # (body, signed, expected status)
            (b"\x00junk that is not json", False, 401),
            (b'{"type": "event_callback", "event": {', True, 400),  # malformed JSON
            (b'{"type": "event_callback", "text": "\xff\xfe"}', True, 400),  # invalid UTF-8
            (b"[1, 2, 3]", True, 400),  # JSON, but not an object
            (b"payload=%7Bnot-json", True, 400),
            (b'{"type": "event_callback", "event": "a string"}', True, 400),  # a shape bolt cannot read
        ]
        for body, signed, expected in cases:
            headers = {**(sign(body) if signed else {}), "Content-Type": "application/json"}
            async with rig.session.post(rig.url, data=body, headers=headers) as resp:
                assert resp.status == expected, (body, resp.status)
        big = json.dumps(slack_event("x" * (2 * 1024 * 1024), "EvBIG")).encode()
        async with rig.session.post(rig.url, data=big, headers={**sign(big), "Content-Type": "application/json"}) as r:
            assert r.status == 413
        await rig.idle()
        assert rig.slack.calls_to("chat.startStream", "chat.postMessage") == []
    rejected = [e for e in logs.events() if e.get("event") == "slack_request_rejected"]
    assert [e["reason"] for e in rejected] == ["bad_signature", "malformed_body", "not_utf8", "malformed_body",
                                               "malformed_body", "unreadable_body", "too_large"]
    no_tracebacks(logs, stdlib_logs)


async def test_slack_lone_surrogates_and_control_characters_are_cleaned_and_answered(llm_server, monkeypatch,
                                                                                     redis):
    async with slack_rig(llm_server, monkeypatch) as rig:
        body = json.dumps(slack_event("reset \ud800my\x00 pass\x1bword\udfff please", "EvSURR"))
        assert "\\ud800" in body  # sent as Slack would spell it: an escape inside valid UTF-8 JSON
        resp = await rig.post(body)
        assert resp.status == 200
        text = await rig.answered("C1", "1700000000.000100")
        assert text
        asked = llm_server.requests_for("gpt-4o-mini")[-1].body["messages"][-1]["content"]
        assert asked == "reset my password please"


async def tg_post(app: Any, body: bytes, secret: str | None = TG_SECRET) -> int:
    headers = {"Content-Type": "application/json"}
    if secret is not None:
        headers["X-Telegram-Bot-Api-Secret-Token"] = secret
    async with aiohttp.ClientSession() as http, http.post(app.server.make_url("/telegram/webhook"), data=body,
                                                          headers=headers) as resp:
        return resp.status


async def test_telegram_fuzz_never_a_5xx_or_a_traceback(telegram_api, llm_server, redis, monkeypatch, logs,
                                                        stdlib_logs):
    telegram_env(monkeypatch, telegram_api, llm_server, redis)
    rng = random.Random(2121)
    seed = json.dumps(telegram_api.message_update(PRIVATE, "fuzz me")).encode()
    statuses: dict[int, int] = {}
    async with running(telegram_api, llm_server) as app:
        for i in range(FUZZ_N):
            body = mutate(rng, seed)
            status = await tg_post(app, body, secret=TG_SECRET if i % 4 else rng.choice([None, "wrong", ""]))
            statuses[status] = statuses.get(status, 0) + 1
            assert status < 500, (status, body[:200])
        await app.settle()
        answered = len(telegram_api.chat_messages(PRIVATE))
        assert await app.post(telegram_api.message_update(PRIVATE, "still there?")) == 200
        await telegram_api.wait_for(lambda: len(telegram_api.chat_messages(PRIVATE)) > answered)
        await app.settle()
    assert statuses.get(400, 0) > 100 and statuses.get(401, 0) >= FUZZ_N // 4
    no_tracebacks(logs, stdlib_logs)


async def test_telegram_bad_bodies_and_surrogates(telegram_api, llm_server, redis, monkeypatch, logs, stdlib_logs):
    telegram_env(monkeypatch, telegram_api, llm_server, redis)
    async with running(telegram_api, llm_server) as app:
        assert await tg_post(app, b'{"update_id": 1, "message": {', secret="wrong") == 401  # secret first
        assert await tg_post(app, b'{"update_id": 1, "message": {') == 400
        assert await tg_post(app, b'{"update_id": 1, "x": "\xff"}') == 400
        assert await tg_post(app, b'{"update_id": "not a number"}') == 400
        update = telegram_api.message_update(PRIVATE, "where is \ud800my\x07 order\udc00?")
        assert await tg_post(app, json.dumps(update).encode()) == 200
        await telegram_api.wait_for(lambda: len(telegram_api.chat_messages(PRIVATE)) == 1)
        await app.settle()
    asked = llm_server.requests_for("gpt-4o-mini")[-1].body["messages"][-1]["content"]
    assert asked == "where is my order?"
    rejected = [e["reason"] for e in logs.events() if e.get("event") == "telegram_request_rejected"]
    assert rejected == ["bad_secret", "malformed_json", "not_utf8", "not_an_update"]
    no_tracebacks(logs, stdlib_logs)
