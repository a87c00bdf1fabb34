"""Tool calls written as text are taken out of a streamed answer however it is split; ordinary text is untouched.
And the intent check that decides whether tool schemas go into the prompt (English and Russian)."""

from __future__ import annotations

import json
import random

import pytest

from core.tools.intent import tools_for
from core.tools.text_calls import TextCallFilter

NAMES = ["create_ticket", "ticket_status", "escalate_to_human", "search_knowledge"]


def stream(text: str, seed: int) -> tuple[str, TextCallFilter]:
    """The text fed in random 1-6 character chunks, as a model's stream would; what the user sees."""
    rnd, filt, shown, i = random.Random(seed), TextCallFilter(NAMES), [], 0
    while i < len(text):
        n = rnd.randint(1, 6)
        shown.append(filt.feed(text[i:i + n]))
        i += n
    shown.append(filt.finish())
    return "".join(shown), filt


PLAIN = [
    "You get 25 days of paid vacation per year [1]. See [the policy](https://hr.example/vacation) [2].",
    "Run this:\n```bash\nls -la {a,b}\n```\nThen restart the client.",
    'Use {username} as the login; the config is ```json\n{"proxy": "vpn-eu.acme.example", "port": 443}\n```',
    "Отпуск — 28 дней [1]. Фигурные скобки { и } в тексте тоже остаются.",
    "An unclosed brace { stays, and so does an unclosed fence ``` at the end",
]
CALLS = [
    ('Sure! {"name": "create_ticket", "arguments": {"summary": "VPN down", "priority": "high"}}', "Sure! "),
    ('I will open it.\n```json\n{"name": "create_ticket", "parameters": {"summary": "VPN down"}}\n```\nDone.',
     "I will open it.\n\nDone."),
    ('<tool_call>\n{"name": "escalate_to_human", "arguments": {"reason": "asks for a person"}}\n</tool_call>', ""),
    ('[{"type": "function", "function": {"name": "ticket_status", "arguments": "{\\"ticket_id\\": \\"DM-1001\\"}"}}]',
     ""),
    ('{"create_ticket": {"summary": "Ноутбук не включается"}}', ""),
]


@pytest.mark.parametrize("text", PLAIN)
def test_ordinary_text_and_code_reach_the_user_unchanged(text: str) -> None:
    for seed in range(25):
        shown, filt = stream(text, seed)
        assert shown == text and filt.found == 0


@pytest.mark.parametrize(("text", "visible"), CALLS)
def test_a_call_naming_a_tool_becomes_a_request_and_is_never_shown(text: str, visible: str) -> None:
    for seed in range(25):
        shown, filt = stream(text, seed)
        assert shown == visible
        assert len(filt.calls) == 1 and filt.calls[0].name in NAMES
        assert isinstance(json.loads(filt.calls[0].arguments_json), dict)


def test_calls_to_unknown_tools_and_truncated_calls_are_dropped() -> None:
    for text, name in [('{"name": "vacation_lookup", "arguments": {"country": "DE"}}', "vacation_lookup"),
                       ('Checking. {"name": "ticket_status", "arguments": {"ticket_id": "DM-10', "ticket_status")]:
        shown, filt = stream(text, 1)
        assert "{" not in shown and name not in shown
        assert filt.calls == [] and filt.dropped == [name]
    shown, filt = stream('A person record: {"name": "Jane", "team": "IT"}', 2)  # not a call: shown
    assert shown.endswith('{"name": "Jane", "team": "IT"}') and filt.found == 0


@pytest.mark.parametrize(("message", "needs"), [
    ("How many vacation days do I get per year?", False),
    ("How much does the DM-PRO-200 cost?", False),
    ("Who do I contact about payroll?", False),
    ("How do I create a strong password?", False),
    ("Сколько дней отпуска мне положено?", False),
    ("Как оформить отпуск?", False),
    ("My laptop screen is cracked, please open a ticket", True),
    ("What's the status of DM-1001?", True),
    ("I want to talk to a human", True),
    ("Создайте заявку, не работает VPN", True),
    ("Позовите живого оператора", True),
    ("Какой статус у моего обращения?", True),
])
def test_tool_schemas_only_when_the_words_call_for_a_tool(message: str, needs: bool) -> None:
    assert bool(tools_for(message, NAMES)) is needs


def test_a_short_yes_to_a_suggested_ticket_offers_the_tools_and_unknown_tools_are_always_offered() -> None:
    history = [{"role": "user", "content": "My VPN drops"},
               {"role": "assistant", "content": "I don't know why. I can open a ticket for you."}]
    assert tools_for("yes please", NAMES, history) == NAMES
    assert tools_for("yes please", NAMES) == []
    assert tools_for("hello", [*NAMES, "order_lookup"]) == ["order_lookup"]
