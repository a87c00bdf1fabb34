"""Which language a message is in: the reply follows it, whatever the client's UI locale says."""

from __future__ import annotations

from core.language import detect_language, reply_language


def test_russian_and_english_messages_are_told_apart() -> None:
    assert detect_language("Как оформить возврат?") == "ru"
    assert detect_language("pg_dump одну таблицу") == "ru", "a Russian question naming an English tool"
    assert detect_language("vpn says ERR-4040") == "en"
    assert detect_language("да") == "ru", "a short Russian reply"


def test_codes_emoji_and_other_scripts_have_no_language_of_their_own() -> None:
    for message in ("ERR-4040", "DM-PRO-200 v15", "👍", "ok", "", "\u200b", "مرحبا كيف حالك"):
        assert detect_language(message) is None, message
    assert reply_language("ERR-4040", "ru") == "ru", "undecided: the fallback (the profile's language)"
    assert reply_language("👍", "en-GB") == "en"
    assert reply_language("", None) == "en"
    assert reply_language("Сколько дней отпуска?", "en") == "ru", "the message wins over the fallback"
