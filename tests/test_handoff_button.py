"""The "talk to a person" button, end to end through the fake Bot API and fake Slack (real Redis, real stages):
under an uncertain answer and the welcome text, in the message's language; pressing it opens the handoff exactly
like `/human`; a second press, or another user's press in a group, opens nothing."""

from __future__ import annotations

import asyncio
import json

from adapters.slack.blocks import PERSON
from adapters.slack.inbox import RESOLVE
from core.handoff.files import note
from core.texts import text
from tests.support.handoff import handoff_profiles, handoff_rig, wait_for

CUSTOMER = 555
GROUP = -1001
UNKNOWN = "What is the airspeed velocity of an unladen swallow?"


def reasons(rig) -> list[str]:
    return [m.text.split("reason: ")[1].split(" ·")[0] for m in rig.inbox_roots()]


def person_button(message) -> str | None:
    rows = (message.reply_markup or {}).get("inline_keyboard") or []
    found = [b["callback_data"] for row in rows for b in row if b["callback_data"].startswith("dmh:")]
    return found[0] if found else None


def toasts(telegram_api) -> list[dict]:
    return [c.params for c in telegram_api.calls_of("answerCallbackQuery") if c.params.get("text")]


async def test_the_button_under_an_uncertain_answer_opens_the_handoff_in_the_answers_language(
        telegram_api, llm_server, redis, monkeypatch, tmp_path):
    profiles = handoff_profiles(tmp_path / "profiles", abstain=True, triggers={"abstained": False})
    async with handoff_rig(telegram_api, llm_server, redis, monkeypatch, profiles) as rig:
        await rig.tg(telegram_api.message_update(CUSTOMER, "Какая скорость полёта ласточки без груза?"))
        await rig.settle()
        answer = telegram_api.chat_messages(CUSTOMER)[-1]
        data = person_button(answer)
        assert data is not None, "an abstained answer offers a person"
        labels = [b["text"] for row in answer.reply_markup["inline_keyboard"] for b in row]
        assert note("handoff_person", "label", "ru") in labels, "labelled in the message's language"
        assert not rig.inbox_roots(), "nothing opened before the press"
        await rig.tg(telegram_api.callback_update(CUSTOMER, answer.message_id, data))  # the user's app is English
        await rig.settle()
        await wait_for(lambda: len(rig.inbox_roots()) == 1)
        assert reasons(rig) == ["asked for a person"], "the same trigger as /human"
        await telegram_api.wait_for(lambda: text("handoff_opened", "ru") in rig.texts_to(CUSTOMER))
        # pressed again: no second handoff, the user is told it is already with a colleague
        await rig.tg(telegram_api.callback_update(CUSTOMER, answer.message_id, data))
        await rig.settle()
        await telegram_api.wait_for(lambda: any(t["text"] == note("handoff_person", "already", "ru")
                                                for t in toasts(telegram_api)))
        assert len(rig.inbox_roots()) == 1
        # after the handoff is resolved, the same button asks for a person again: a new handoff
        [root] = rig.inbox_roots()
        await rig.press(RESOLVE, root.ts)
        await telegram_api.wait_for(lambda: text("handoff_resolved", "ru") in rig.texts_to(CUSTOMER))
        await rig.tg(telegram_api.callback_update(CUSTOMER, answer.message_id, data))
        await rig.settle()
        await wait_for(lambda: len(rig.inbox_roots()) == 2)


async def test_a_confident_answer_has_no_button_and_the_profile_can_switch_it_off(
        telegram_api, llm_server, redis, monkeypatch, tmp_path):
    from tests.fakes.llm_server import Reply

    profiles = handoff_profiles(tmp_path / "profiles", abstain=True, triggers={"abstained": False}, button="off")
    async with handoff_rig(telegram_api, llm_server, redis, monkeypatch, profiles) as rig:
        await rig.tg(telegram_api.message_update(CUSTOMER, UNKNOWN))
        await rig.settle()
        assert person_button(telegram_api.chat_messages(CUSTOMER)[-1]) is None, "switched off in the profile"
    await redis.flushdb()
    profiles = handoff_profiles(tmp_path / "profiles2")
    async with handoff_rig(telegram_api, llm_server, redis, monkeypatch, profiles) as rig:
        llm_server.script("gpt-4o-mini", Reply("Use the reset link on the login page."))
        await rig.tg(telegram_api.message_update(CUSTOMER, "How do I reset my password?"))
        await rig.settle()
        answer = telegram_api.chat_messages(CUSTOMER)[-1]
        assert "reset link" in answer.text and person_button(answer) is None, "no button under a plain answer"


async def test_the_welcome_text_has_the_button(telegram_api, llm_server, redis, monkeypatch, tmp_path):
    profiles = handoff_profiles(tmp_path / "profiles")
    async with handoff_rig(telegram_api, llm_server, redis, monkeypatch, profiles) as rig:
        await rig.tg(telegram_api.message_update(CUSTOMER, "/start", language="ru",
                                                 entities=[{"type": "bot_command", "offset": 0, "length": 6}]))
        await telegram_api.wait_for(lambda: text("telegram_help", "ru") in rig.texts_to(CUSTOMER))
        welcome = telegram_api.chat_messages(CUSTOMER)[-1]
        await rig.tg(telegram_api.callback_update(CUSTOMER, welcome.message_id, person_button(welcome)))
        await rig.settle()
        await wait_for(lambda: len(rig.inbox_roots()) == 1)
        await telegram_api.wait_for(lambda: text("handoff_opened", "ru") in rig.texts_to(CUSTOMER))
        assert not llm_server.requests_for("gpt-4o-mini")


async def test_in_a_group_only_the_asker_or_a_chat_admin_may_call_a_person(
        telegram_api, llm_server, redis, monkeypatch, tmp_path):
    profiles = handoff_profiles(tmp_path / "profiles", abstain=True, triggers={"abstained": False})
    async with handoff_rig(telegram_api, llm_server, redis, monkeypatch, profiles) as rig:
        await rig.tg(telegram_api.message_update(GROUP, UNKNOWN, user_id=42, reply_to_bot=True))
        await rig.settle()
        answer = telegram_api.chat_messages(GROUP)[-1]
        data = person_button(answer)
        assert data is not None and ":42:" in data, "the asker rides in the button"
        await rig.tg(telegram_api.callback_update(GROUP, answer.message_id, data, user_id=43))  # a stranger
        await telegram_api.wait_for(lambda: bool(toasts(telegram_api)))
        [refusal] = toasts(telegram_api)
        assert refusal["text"] == note("handoff_person", "not_yours", "en")
        assert str(refusal.get("show_alert")).lower() == "true", "shown clearly, not as a passing toast"
        await asyncio.sleep(0.3)
        await rig.settle()
        assert not rig.inbox_roots()
        telegram_api.chat_admins[GROUP] = {44}
        await rig.tg(telegram_api.callback_update(GROUP, answer.message_id, data, user_id=44))  # a chat admin
        await rig.settle()
        await wait_for(lambda: len(rig.inbox_roots()) == 1)


async def test_the_slack_button_refuses_another_users_press_in_a_channel(
        telegram_api, llm_server, redis, monkeypatch, tmp_path):
    from tests.fakes.llm_server import Reply

    profiles = handoff_profiles(tmp_path / "profiles", button="always")
    async with handoff_rig(telegram_api, llm_server, redis, monkeypatch, profiles) as rig:
        llm_server.script("gpt-4o-mini", Reply("Restart the router."))
        ts = await rig.slack_rig.mention("my internet is down", channel="C1", user="U1")
        await rig.slack_rig.answered("C1", ts)
        stop = rig.slack.calls_to("chat.stopStream")[-1]
        blocks = stop.args["blocks"] if isinstance(stop.args["blocks"], list) else json.loads(stop.args["blocks"])
        [button] = [e for b in blocks if b.get("type") == "actions" for e in b["elements"]
                    if e["action_id"] == PERSON]
        assert button["text"]["text"] == note("handoff_person", "label", "en")
        await rig.slack_rig.click(PERSON, button["value"], "C1", stop.args["ts"], ts, user="U2")
        refusal = note("handoff_person", "not_yours", "en")
        await wait_for(lambda: any(m.kind == "ephemeral" and m.user == "U2" and m.text == refusal
                                   for m in rig.slack.messages.values()))
        assert not rig.inbox_roots()
        await rig.slack_rig.click(PERSON, button["value"], "C1", stop.args["ts"], ts, user="U1")
        await wait_for(lambda: len(rig.inbox_roots()) == 1)
        assert reasons(rig) == ["asked for a person"]
        await wait_for(lambda: any(m.channel == "C1" and m.thread_ts == ts and text("handoff_opened", "en") in m.text
                                   for m in rig.slack.messages.values()))
