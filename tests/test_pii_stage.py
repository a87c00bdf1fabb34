"""PII stage: masking before the model, restoring for the user, the encrypted vault, fail-closed."""

from __future__ import annotations

import os
import socket
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from presidio_analyzer import EntityRecognizer

from core.engine import Engine
from core.errors import ConfigError
from core.flags import FeatureFlags
from core.models import Final, Inbound, NeedsConfirmation, ReplyEvent, TextDelta, ToolCall
from core.pii.analyzer import build_analyzer
from core.pii.build import build_masker
from core.pii.masker import Masker
from core.pii.settings import PiiSettings
from core.pii.stage import PiiStage
from core.pii.vault import KEY_FILE, Vault, load_or_create_key
from core.profile import BotProfile
from core.stages.features import FeaturesStage
from core.texts import text
from core.turn import Turn

PROFILE = BotProfile(name="helpdesk", prompt="support", prompt_version="v1", languages=("en", "ru"),
                     pii={"allow_list": ["support@deskmate.example"]})


@pytest.fixture(scope="module")
def analyzer():
    return build_analyzer(PiiSettings())


class Model:
    """Stands in for everything after the PII stage: records what it was given, replies with a script."""

    name = "model"

    def __init__(self, chunks: list[str] | None = None) -> None:
        self.seen: list[str] = []
        self.chunks = chunks
        self.turns: list[Turn] = []

    async def run(self, turn: Turn) -> AsyncIterator[ReplyEvent]:
        self.seen.append(turn.text)
        self.turns.append(turn)
        chunks = self.chunks or [f"You said: {turn.text}"]
        for chunk in chunks:
            yield TextDelta(text=chunk)
        yield Final(reply_id=turn.reply_id, text="".join(chunks))


def engine(redis, analyzer, model: Model, locked: bool = False, profile: BotProfile = PROFILE) -> Engine:
    stage = PiiStage(Masker(analyzer, Vault(redis, Fernet.generate_key(), 3600)), {profile.name: profile}, locked)
    return Engine([FeaturesStage(FeatureFlags(redis)), stage], model, {profile.name: profile})


def inbound(msg: str, thread: str = "t1", bot: str = "helpdesk") -> Inbound:
    return Inbound(platform="slack", bot=bot, tenant="T1", channel="C1", thread=thread, user="U1", text=msg)


async def reply(eng: Engine, msg: str, thread: str = "t1") -> tuple[str, Final]:
    events = [e async for e in eng.handle(inbound(msg, thread))]
    final = events[-1]
    assert isinstance(final, Final), final
    return "".join(e.text for e in events if isinstance(e, TextDelta)), final


async def test_model_sees_placeholders_user_sees_values(redis, analyzer):
    model = Model()
    eng = engine(redis, analyzer, model)
    msg = "Hi, I am John Smith, write to john.smith@acme-mail.com or call +1 415 555 0100."
    streamed, final = await reply(eng, msg)
    seen = model.seen[0]
    assert "John Smith" not in seen and "john.smith@acme-mail.com" not in seen and "555 0100" not in seen
    assert "<PERSON_1>" in seen and "<EMAIL_1>" in seen and "<PHONE_1>" in seen
    assert streamed == final.text == f"You said: {msg}"
    turn = model.turns[0]
    assert turn.facts["pii_masked"] == {"PERSON": 1, "EMAIL": 1, "PHONE": 1}
    assert turn.facts["pii_restored"] is True


async def test_placeholders_stable_within_a_conversation_only(redis, analyzer):
    model = Model()
    eng = engine(redis, analyzer, model)
    await reply(eng, "My email is anna@globex-corp.com")
    await reply(eng, "Also bob@initech-corp.com, and again anna@globex-corp.com")
    await reply(eng, "Email: bob@initech-corp.com", thread="other")
    assert model.seen[0] == "My email is <EMAIL_1>"
    assert model.seen[1] == "Also <EMAIL_2>, and again <EMAIL_1>"
    assert model.seen[2] == "Email: <EMAIL_1>"  # another conversation numbers on its own
    # The other conversation cannot restore this one's placeholders.
    model.chunks = ["Write to <EMAIL_2>"]
    streamed, _ = await reply(eng, "hello", thread="other")
    assert streamed == "Write to <EMAIL_2>"


@pytest.mark.parametrize("size", [1, 2, 3, 5])
async def test_restores_placeholders_split_across_chunks(redis, analyzer, size):
    model = Model()
    eng = engine(redis, analyzer, model)
    await reply(eng, "Contact Maria Garcia at maria.garcia@contoso-mail.com")
    answer = "Sure <PERSON_1>, I'll send it to <EMAIL_1>. Keep <EMAIL_9> and a < b as they are <"
    model.chunks = [answer[i:i + size] for i in range(0, len(answer), size)]
    events = [e async for e in eng.handle(inbound("thanks"))]
    deltas = [e.text for e in events if isinstance(e, TextDelta)]
    expected = ("Sure Maria Garcia, I'll send it to maria.garcia@contoso-mail.com. "
                "Keep <EMAIL_9> and a < b as they are <")
    assert "".join(deltas) == expected
    assert events[-1].text == expected
    assert not any("<EMAIL_" in d and "<EMAIL_9>" not in d for d in deltas)


async def test_vault_in_redis_holds_no_clear_values(redis, analyzer):
    model = Model()
    eng = engine(redis, analyzer, model)
    await reply(eng, "I'm Olivia Brown, olivia.brown@fabrikam-mail.com, card 4111 1111 1111 1111")
    keys = [k async for k in redis.scan_iter(match="*")]
    vault_keys = [k for k in keys if k.startswith(b"dm:pii:")]
    assert vault_keys == [b"dm:pii:slack:T1:C1:t1"]
    raw = b" ".join([k for k in keys] + [b" ".join(f + b"=" + v for f, v in (await redis.hgetall(vault_keys[0])).items())])
    for value in (b"Olivia", b"olivia.brown", b"4111"):
        assert value not in raw
    assert 0 < await redis.ttl(vault_keys[0]) <= 3600


async def test_tool_arguments_restored_results_masked(redis, analyzer):
    class ToolModel(Model):
        async def run(self, turn: Turn) -> AsyncIterator[ReplyEvent]:
            self.turns.append(turn)
            args = {"to": turn.unmask("<EMAIL_1>"), "note": turn.unmask("for <PERSON_1>")}
            self.seen.append(repr(args))
            result = await turn.mask("Ticket 42 created for liam.jones@northwind-mail.com; cc " + args["to"])
            self.seen.append(result)
            yield ToolCall(call_id="c1", name="create_ticket", arguments={"to": "<EMAIL_1>"})
            yield NeedsConfirmation(proposal_id="p1", tool="create_ticket", summary="Email <EMAIL_1>?",
                                    expires_at=0)
            yield Final(reply_id=turn.reply_id, text="Done")

    model = ToolModel()
    eng = engine(redis, analyzer, model)
    events = [e async for e in eng.handle(inbound("I'm Emma Wilson, emma.wilson@tailspin-mail.com"))]
    assert model.seen[0] == repr({"to": "emma.wilson@tailspin-mail.com", "note": "for Emma Wilson"})
    assert model.seen[1] == "Ticket 42 created for <EMAIL_2>; cc <EMAIL_1>"
    call = next(e for e in events if isinstance(e, ToolCall))
    assert call.arguments == {"to": "emma.wilson@tailspin-mail.com"}
    confirm = next(e for e in events if isinstance(e, NeedsConfirmation))
    assert confirm.summary == "Email emma.wilson@tailspin-mail.com?"
    assert model.turns[0].facts["pii_masked"]["EMAIL"] == 3


async def test_allow_list_and_entity_choice(redis, analyzer):
    profile = BotProfile(name="narrow", prompt="support", prompt_version="v1",
                         pii={"entities": ["EMAIL_ADDRESS"], "allow_list": ["support@deskmate.example"]})
    model = Model()
    eng = engine(redis, analyzer, model, profile=profile)
    events = [e async for e in eng.handle(inbound("Jack Taylor here: jack@woodgrove-mail.com, cc support@deskmate.example",
                                                  bot="narrow"))]
    assert isinstance(events[-1], Final)
    assert model.seen[0] == "Jack Taylor here: <EMAIL_1>, cc support@deskmate.example"


def test_bad_profile_options_are_a_config_error(analyzer):
    bad = BotProfile(name="bad", prompt="p", prompt_version="v1", pii={"score_threshold": 3})
    with pytest.raises(ConfigError, match="bad"):
        PiiStage(Masker(analyzer, None), {"bad": bad})  # type: ignore[arg-type]


async def test_flag_off_passes_text_and_lock_forces_it_on(redis, analyzer):
    flags = FeatureFlags(redis)
    await flags.set("slack", "T1", "pii", False, by="admin", channel="C1")
    model = Model()
    await reply(engine(redis, analyzer, model), "mail me: ava@contoso-mail.com")
    await reply(engine(redis, analyzer, model, locked=True), "mail me: ava@contoso-mail.com")
    assert model.seen == ["mail me: ava@contoso-mail.com", "mail me: <EMAIL_1>"]


class Exploding(EntityRecognizer):
    def load(self) -> None:
        return None

    def analyze(self, text, entities, nlp_artifacts=None):
        raise RuntimeError(f"boom on {text}")


async def test_analyzer_failure_fails_closed(redis, logs):
    broken = build_analyzer(PiiSettings(spacy_model="", languages=("en",)))
    broken.registry.add_recognizer(Exploding(supported_entities=["EMAIL_ADDRESS"], supported_language="en"))
    model = Model()
    eng = engine(redis, broken, model)
    events = [e async for e in eng.handle(inbound("secret mail zoe@contoso-mail.com"))]
    assert model.seen == []
    assert events[-1].type == "error" and events[-1].message == text("pii_failed", "en")
    assert "pii_analyzer_failed" in logs.text and "RuntimeError" in logs.text
    assert "zoe@contoso-mail.com" not in logs.text


async def test_analysis_makes_no_network_calls(analyzer, monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("network access during PII analysis")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    fresh = build_analyzer(PiiSettings(spacy_model="", languages=("en",)))  # a fresh, cold analyzer
    found = fresh.analyze("reach me at mia.clark@adventure-works.co.uk", "en")
    assert [r.entity_type for r in found] == ["EMAIL_ADDRESS"]


def test_russian_identity_numbers(analyzer):
    msg = "Паспорт 45 06 123456, ИНН 500100732259, СНИЛС 112-233-445 95, телефон 8 (912) 345-67-89"
    found: dict[str, set[str]] = {}
    for r in analyzer.analyze(msg, "ru", score_threshold=0.4):
        found.setdefault(msg[r.start:r.end], set()).add(r.entity_type)
    assert "RU_PASSPORT" in found["45 06 123456"]
    assert "RU_INN" in found["500100732259"]
    assert "RU_SNILS" in found["112-233-445 95"]
    assert "PHONE_NUMBER" in found["8 (912) 345-67-89"]
    wrong_checksum = "ИНН 500100732258, СНИЛС 112-233-445 96"
    assert analyzer.analyze(wrong_checksum, "ru", score_threshold=0.4) == []


async def test_key_file_created_once_with_owner_only_access(tmp_path: Path, redis):
    data_dir = tmp_path / "var"
    first = load_or_create_key(None, data_dir)
    assert os.stat(data_dir / KEY_FILE).st_mode & 0o777 == 0o600
    assert load_or_create_key(None, data_dir) == first
    configured = Fernet.generate_key().decode()
    assert load_or_create_key(configured, data_dir) == configured.encode()
    with pytest.raises(ConfigError, match="DESKMATE_PII__VAULT_KEY"):
        load_or_create_key("not-a-key", data_dir)
    masker = await build_masker(PiiSettings(spacy_model="", languages=("en",)), first, redis)
    stage = PiiStage(masker, {"helpdesk": PROFILE})
    assert stage.name == "pii"
