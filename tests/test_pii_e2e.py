"""Nothing leaks: a whole conversation full of personal data through the real runtime.

Faker values (en_US + ru_RU, seeded) go into ~10 messages driven through the composition root against the
fake LLM provider (chat and embeddings): plain questions, a follow-up, a question asked twice (semantic
cache), a ticket proposed with placeholders and confirmed, its status looked up, an escalation. The fake
model echoes the placeholders it receives, so the user must see the real values again; and no inserted value
may appear in any request the provider received, in the logs, in any Redis key or value, or in any file
under the data dir (the ticket legitimately needs the real contact data: it is encrypted at rest in Redis).
Russian names are not inserted: no Russian NER model installs offline, so they are a documented gap.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
import re
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any

import pytest
from faker import Faker

from bots.composition import Runtime
from core.models import Action, Final, Inbound, NeedsConfirmation, ReplyEvent
from tests.conftest import LogCapture
from tests.fakes.llm_server import FakeLLM, Reply, Step, ToolCalls
from tests.support.runtime import ask, final_of, inbound, running

PLACEHOLDER = re.compile(r"<[A-Z][A-Z_]*_\d+>")
SEED = 6_2024


def generated_values() -> dict[str, str]:
    """Seeded Faker values, one per kind; long enough not to collide with ordinary text."""
    rng = random.Random(SEED)
    en, ru = Faker("en_US"), Faker("ru_RU")
    en.seed_instance(rng.randint(0, 10**9))
    ru.seed_instance(rng.randint(0, 10**9))

    def name() -> str:
        while True:
            first, last = en.first_name(), en.last_name()
            if len(first) >= 4 and len(last) >= 4:
                return f"{first} {last}"

    return {
        "name": name(),
        "email": en.email(),
        "phone": en.phone_number().split("x")[0].strip(),  # extensions ("x123") are a documented gap
        "card": en.credit_card_number(card_type="visa16"),
        "iban": en.iban(),
        "ip": en.ipv4_public(),
        "passport": ru.passport_number(),
        "inn": ru.individuals_inn(),
        "snils": ru.snils(),
        "ru_phone": ru.phone_number(),
        "ru_email": ru.email(),
        "ru_card": ru.credit_card_number(card_type="mir"),
    }


def needles(values: dict[str, str]) -> dict[str, str]:
    """What must never appear: each value as written, and the digits alone of the numeric ones."""
    out = dict(values)
    for kind, value in values.items():
        digits = re.sub(r"\D", "", value)
        if kind != "ip" and len(digits) >= 9 and digits != value:
            out[f"{kind} (digits)"] = digits
    for part in values["name"].split():  # half a name is a leak too
        out[f"name ({part})"] = part
    return out


def leaks(haystack: str | bytes, values: dict[str, str]) -> list[str]:
    if isinstance(haystack, bytes):
        return [kind for kind, v in values.items() if v.encode() in haystack]
    return [kind for kind, v in values.items() if v in haystack]


def last_content(messages: Sequence[dict[str, Any]], role: str) -> str:
    for message in reversed(messages):
        if message.get("role") == role:
            return str(message.get("content") or "")
    return ""


def first_placeholder(messages: Sequence[dict[str, Any]], label: str) -> str:
    for message in messages:
        if message.get("role") == "system":  # the prompt itself shows example placeholders
            continue
        for ph in PLACEHOLDER.findall(str(message.get("content") or "")):
            if ph.startswith(f"<{label}_"):
                return ph
    raise AssertionError(f"the model never saw a {label} placeholder")


def model(body: dict[str, Any]) -> Step:
    """The fake model: echoes the placeholders it was given; asks for tools when the user asks for them."""
    messages = body.get("messages") or []
    if messages and messages[-1].get("role") == "tool":
        found = PLACEHOLDER.findall(str(messages[-1].get("content") or ""))
        return Reply(f"Here is what I found: {' '.join(found) or 'nothing personal'}. Anything else?")
    question = last_content(messages, "user")
    if "tools" in body and "open a ticket" in question:
        email, name, phone, passport = (first_placeholder(messages, label)
                                        for label in ("EMAIL", "PERSON", "PHONE", "PASSPORT"))
        return ToolCalls([("create_ticket", {
            "summary": f"Refund and HR records of {name}: {passport}",
            "description": f"Double charge on {first_placeholder(messages, 'CARD')}. Reach {email} or {phone}.",
            "priority": "high", "category": "billing"})])
    if "tools" in body and "status" in question:
        number = re.search(r"DM-\d+", question)
        return ToolCalls([("ticket_status", {"ticket_id": number.group(0) if number else "DM-1001"})])
    if "tools" in body and "human" in question:
        iban = first_placeholder(messages, "IBAN")
        return ToolCalls([("escalate_to_human", {"reason": f"Refund to {iban} is disputed"})])
    found = PLACEHOLDER.findall(question)
    if found:
        return Reply(f"Thanks, I noted {', '.join(found)}. I will use them for your request.")
    return Reply("Open Settings, choose Security and follow the reset link we send you.")


async def redis_dump(rt: Runtime) -> bytes:
    """Every key and every value of every type, as one byte string."""
    out: list[bytes] = []
    async for name in rt.redis.scan_iter(count=500):
        out.append(name)
        kind = (await rt.redis.type(name)).decode()
        if kind == "string":
            out.append(await rt.redis.get(name) or b"")
        elif kind == "hash":
            for f, v in (await rt.redis.hgetall(name)).items():
                out += [f, v]
        elif kind == "list":
            out += await rt.redis.lrange(name, 0, -1)
        elif kind == "set":
            out += list(await rt.redis.smembers(name))
        elif kind == "zset":
            out += [m for m, _ in await rt.redis.zrange(name, 0, -1, withscores=True)]
        elif kind == "stream":
            for entry_id, fields in await rt.redis.xrange(name):
                out.append(entry_id)
                for f, v in fields.items():
                    out += [f, v]
        else:
            raise AssertionError(f"unexpected Redis type {kind} for {name!r}")
    return b"\n".join(out)


def proposal_of(events: Sequence[ReplyEvent]) -> NeedsConfirmation:
    found = [e for e in events if isinstance(e, NeedsConfirmation)]
    assert len(found) == 1, events
    return found[0]


class Collector:
    """The console platform's side of the queue: takes each answer's events as a worker renders them."""

    platform = "console"

    def __init__(self) -> None:
        self.got: asyncio.Queue[list[ReplyEvent]] = asyncio.Queue()

    async def respond(self, inbound: Inbound, events: AsyncIterator[ReplyEvent]) -> None:
        await self.got.put([event async for event in events])


def press(proposal: NeedsConfirmation) -> Inbound:
    return inbound("", action=Action(kind="confirm", ref=proposal.proposal_id))


async def test_a_whole_conversation_leaks_no_personal_data(tmp_path: Path, llm_server: FakeLLM, logs: LogCapture,
                                                         caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    v = generated_values()
    secret = needles(v)
    llm_server.responder = model
    data_dir = tmp_path / "data"
    embeddings = {"model": "openai/text-embedding-3-small", "api_base": llm_server.base_url, "api_key": "sk-test"}

    async with running(data_dir, llm_server, llm={"first_token_timeout_s": 30.0, "timeout_s": 60.0},
                       embeddings=embeddings) as rt:
        async def say(text: str, **fields: Any) -> Final:
            return final_of(await ask(rt, text, **fields))

        # 1. A plain question with a name, an email and a phone; the model echoes their placeholders.
        first = await say(f"Hi, my name is {v['name']}. My email is {v['email']} and my phone is {v['phone']}. "
                          "I was charged twice this month.")
        assert all(v[k] in first.text for k in ("name", "email", "phone")), first.text
        # 2. A follow-up: the same values keep their placeholders, new ones get theirs.
        follow = await say(f"It happened on card {v['card']}; refund to IBAN {v['iban']}, and my email is "
                           f"still {v['email']}.")
        assert all(v[k] in follow.text for k in ("card", "iban", "email")), follow.text
        # 3. A Russian message with Russian identity numbers.
        russian = await say(f"Паспорт {v['passport']}, ИНН {v['inn']}, СНИЛС {v['snils']}, телефон "
                            f"{v['ru_phone']}, почта {v['ru_email']}, карта {v['ru_card']}.")
        assert all(v[k] in russian.text for k in ("passport", "inn", "snils", "ru_phone", "ru_email", "ru_card")), \
            russian.text
        # 4. A question asked twice in fresh conversations. The fake embedder matches no passage, and an answer
        # built from zero passages is never stored in the semantic cache: the model answers both times.
        question = "How do I reset my password for the company portal?"
        assert not (await say(question, channel="C2")).cached
        assert not (await say(question, channel="C3")).cached
        # 5. A tool call with placeholders: the user sees (and confirms) the real values.
        events = await ask(rt, f"Please open a ticket; my server {v['ip']} is also unreachable.")
        proposal = proposal_of(events)
        assert v["name"] in proposal.summary and v["passport"] in proposal.summary, proposal.summary
        done = final_of(await ask(rt, press(proposal)))
        assert "DM-1001" in done.text and v["name"] in done.text, done.text
        ticket = await rt.tools.tickets.get("DM-1001", "console", "T1")
        assert ticket is not None and v["email"] in ticket.description and v["card"] in ticket.description
        # 6. The ticket's status: the tool result (real summary) is masked before the model sees it.
        status = await say("What is the status of DM-1001?")
        assert v["name"] in status.text, status.text
        # 7. An escalation, confirmed: the hand-over note is built from masked material.
        escalation = proposal_of(await ask(rt, "I want to talk to a human about the refund."))
        assert v["iban"] in escalation.summary, escalation.summary
        final_of(await ask(rt, press(escalation)))
        # 8. One more follow-up, the way the adapters send it: through the Redis Stream queue to a worker.
        replies = Collector()
        rt.dispatcher.register(replies)
        await rt.dispatcher.submit(inbound(f"Thanks {v['name']}, you can also reach me at {v['ru_phone']}."))
        last = final_of(await asyncio.wait_for(replies.got.get(), timeout=30))
        assert v["ru_phone"] in last.text and v["name"] in last.text, last.text
        # 9. Values masked earlier, repeated without the words that made them recognisable.
        again = await say(f"Also, {v['snils']} is on my pension account and {v['passport']} is the document I used.")
        assert v["snils"] in again.text and v["passport"] in again.text, again.text

        # The model did work with placeholders (so the checks below are meaningful)...
        bodies = [json.dumps(r.body, ensure_ascii=False) for r in llm_server.requests]
        assert any("<EMAIL_1>" in b for b in bodies) and any("<PASSPORT_1>" in b for b in bodies)
        assert any(r.path.endswith("/embeddings") for r in llm_server.requests)
        # ...and never saw a value, in chat or embedding requests.
        for request, body in zip(llm_server.requests, bodies, strict=True):
            assert not leaks(body, secret), f"{request.path}: {leaks(body, secret)}"
        # Redis: every key, every value (the vault holds encrypted values only).
        dump = await redis_dump(rt)
        assert b"dm:pii:" in dump and b"<PASSPORT_1>" in dump and b"<IBAN_1>" in dump  # vault, memory, escalation
        assert not leaks(dump, secret), leaks(dump, secret)

    # Logs: captured as JSON lines while the runtime ran.
    assert logs.events(), "no logs were captured"
    assert not leaks(logs.text, secret), leaks(logs.text, secret)
    assert not leaks(caplog.text, secret), leaks(caplog.text, secret)  # libraries' stdlib logging
    # Files (after shutdown: Redis saved, caches flushed): none holds real values (tickets are encrypted in Redis).
    files = [p for p in data_dir.rglob("*") if p.is_file()]
    assert (data_dir / "redis.rdb").is_file()
    # (The semantic cache holds no answer here: the fake embedder matches no passage, and answers built from zero
    # passages are never cached; its files, if any, are searched with all the others below.)
    for path in files:
        found = leaks(path.read_bytes(), secret)
        assert not found, f"{path.relative_to(data_dir)}: {found}"
