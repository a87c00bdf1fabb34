"""English names and street addresses never reach the model provider, through the real runtime.

Messages written for this test (names without a cue word, titles, foreign names in Latin script, US/UK/EU
addresses in chat spellings) go through the composition root to the fake LLM provider. The fake model echoes
the placeholders it got, so the user must see the real values again; product names, rooms and floors must
reach the model as written.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from tests.fakes.llm_server import FakeLLM, Reply, Step
from tests.support.runtime import ask, final_of, running

PLACEHOLDER = re.compile(r"<[A-Z][A-Z_]*_\d+>")

MESSAGES = [
    ("Please ask Aoife Brennan to approve it, she is at 17 Kingsley Road, Leeds LS6 2AB this week.",
     ["Aoife Brennan", "17 Kingsley Road, Leeds LS6 2AB"], []),
    ("ship to 1234 N. Main St., Suite 200, Dallas, Texas 75201 attn Mr. Okonkwo",
     ["1234 N. Main St., Suite 200, Dallas, Texas 75201", "Mr. Okonkwo"], []),
    ("can u send it to 12 high street, oxford ox1 4ag? Kwame says the Jira ticket is in Room 4B, 3rd floor",
     ["12 high street, oxford ox1 4ag", "Kwame"], ["Jira", "Room 4B, 3rd floor"]),
    ("Priya Raghunathan moved to PO Box 1234, Springfield, IL 62704; Grafana still shows the old one.",
     ["Priya Raghunathan", "PO Box 1234, Springfield, IL 62704"], ["Grafana"]),
    ("Return it to Rua Augusta 274, 1100-053 Lisboa or to 8 avenue de l'Opéra, 75001 Paris, says Inês.",
     ["Rua Augusta 274, 1100-053 Lisboa", "8 avenue de l'Opéra, 75001 Paris", "Inês"], []),
]


def echo(body: dict[str, Any]) -> Step:
    user = [m for m in body.get("messages") or [] if m.get("role") == "user"]
    found = PLACEHOLDER.findall(str(user[-1].get("content") or "")) if user else []
    return Reply(f"Noted: {' | '.join(found)}." if found else "Noted.")


async def test_english_names_and_addresses_reach_the_provider_masked(tmp_path: Path, llm_server: FakeLLM) -> None:
    llm_server.responder = echo
    async with running(tmp_path / "data", llm_server) as rt:
        for i, (text, values, kept) in enumerate(MESSAGES):
            llm_server.requests.clear()
            reply = final_of(await ask(rt, text, channel=f"C{i}"))
            bodies = [json.dumps(r.body, ensure_ascii=False) for r in llm_server.requests]
            assert bodies, "the message never reached the model"
            for value in values:
                assert not any(value in b for b in bodies), f"{value!r} reached the provider"
                assert value in reply.text, (value, reply.text)  # restored for the user
            user_turn = json.loads(bodies[-1])["messages"][-1]["content"]
            assert "<PERSON_" in user_turn and "<ADDRESS_" in user_turn, user_turn
            for word in kept:
                assert word in user_turn, (word, user_turn)


async def test_a_name_late_in_a_long_message_is_masked(tmp_path: Path, llm_server: FakeLLM) -> None:
    """NER runs on windows around capitalised words: one far from the others is still looked at."""
    llm_server.responder = echo
    filler = "the export keeps failing when the report has more than ten thousand rows and we retry it. " * 20
    text = f"hello, {filler}then Tanaka Hiroyuki said the deadline is friday"  # found by the spaCy model
    async with running(tmp_path / "data", llm_server) as rt:
        reply = final_of(await ask(rt, text))
    body = json.dumps(llm_server.requests[-1].body, ensure_ascii=False)
    assert "Tanaka" not in body and "Hiroyuki" not in body
    assert "Tanaka Hiroyuki" in reply.text
