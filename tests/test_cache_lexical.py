"""The cache's second candidate source (shared stemmed content words) and questions holding placeholders.

Real sqlite + faiss stores, the real local embedder, real embedded Redis and the fake provider as the judge."""

from __future__ import annotations

from pathlib import Path

from core.cache import CacheSettings
from core.cache.lexical import LexicalIndex, terms
from core.cache.match import MatchRules
from core.cache.store import Entry, Scope, ScopeStore
from core.models import Final, Passage
from tests.fakes.llm_server import Reply
from tests.test_cache_engine import JUDGE, MODEL, Harness, embedder, final_of
from tests.test_cache_engine import h as h  # the engine harness fixture


def test_stems_by_script_and_placeholders_are_not_words() -> None:
    assert terms("Refunds for cancelled orders?") == terms("refund for a cancelled order")
    assert terms("Сроки возврата товара") == terms("срок возврат товаров")
    assert terms("Invite <PERSON_1> to Slack") == terms("invite to slack")


def test_overlap_is_weighted_by_how_rare_a_word_is_in_the_scope() -> None:
    index = LexicalIndex()
    for n, text in enumerate(["How do I reset my VPN password?", "How do I reset my laptop?",
                              "Reset the printer", "Reset my badge PIN"]):
        index.add(n, text)
    query = terms("VPN password reset not working")
    found = index.search(query, floor=0.1, limit=3)
    assert found[0][0] == 0  # "vpn"/"password" are rare here, "reset" is everywhere
    index.remove([0])
    assert all(i != 0 for i, _ in index.search(query, floor=0.0, limit=5))


async def test_a_stored_question_sharing_its_words_is_a_candidate_below_the_cosine_floor(tmp_path: Path) -> None:
    model = embedder()
    settings = CacheSettings(lexical_floor=0.3)
    rules = MatchRules(threshold=0.999)  # nothing is near enough by embedding alone
    scope = Scope("slack", "T1", "bot", "en", "kb1")
    store = ScopeStore(scope, settings, model.dim, tmp_path)
    stored = ["How long does shipping to Germany take?", "Can I not get a refund for shipping to Germany?"]
    for n, text in enumerate(stored):
        store.insert(text, (await model.embed([text]))[0], Entry(text=f"answer {n}", reply_id=str(n)))
    query = "Germany shipping: how long?"
    vector = (await model.embed([query]))[0]
    found = store.candidates(query, [vector], rules, settings.ttl_s)
    # the negated one shares words too, but the second check (same negation) still applies
    assert [c.question for c in found] == [stored[0]] and found[0].similarity < 0.999
    store.close()
    # a scope opened again (another process, a restart) rebuilds the word index from its rows
    again = ScopeStore(scope, settings, model.dim, tmp_path)
    assert [c.question for c in again.candidates(query, [vector], rules, settings.ttl_s)] == [stored[0]]
    again.delete([found[0].entry_id])
    assert again.candidates(query, [vector], rules, settings.ttl_s) == []
    off = ScopeStore(scope, CacheSettings(lexical_floor=1.0), model.dim, tmp_path / "off")
    off.insert(stored[0], (await model.embed([stored[0]]))[0], Entry(text="a", reply_id="x"))
    assert off.candidates(query, [vector], rules, settings.ttl_s) == []
    again.close()
    off.close()


async def test_a_question_with_a_placeholder_is_served_only_on_a_verifier_yes(h: Harness) -> None:
    question = "How do I add <PERSON_1> as a guest to our Slack workspace?"
    h.llm.script(MODEL, Reply("Admin settings, Invite people, choose Guest."))
    assert not final_of(await h.ask(question, channel="C1")).cached
    # the very same text in another conversation: <PERSON_1> is someone else there, so not an exact repeat
    h.llm.script(JUDGE, Reply("no"))
    h.llm.script(MODEL, Reply("A fresh answer."))
    assert not final_of(await h.ask(question, channel="C2")).cached and h.judge_calls() == 1
    h.llm.script(JUDGE, Reply("yes"))
    served = final_of(await h.ask("How can I invite <PERSON_1> into our Slack workspace as a guest?", channel="C3"))
    # either stored answer to that question (the miss in C2 stored its own too), never one made up
    assert served.cached and served.text in ("Admin settings, Invite people, choose Guest.", "A fresh answer.")
    # another placeholder (two people, or an e-mail) is another anchor: never even a candidate
    h.llm.script(MODEL, Reply("Another fresh answer."))
    calls = h.judge_calls()
    other = final_of(await h.ask("How do I add <PERSON_2> as a guest to our Slack workspace?", channel="C4"))
    assert not other.cached and h.judge_calls() == calls


async def test_a_placeholder_question_after_earlier_turns_or_with_a_personal_answer_is_never_shared(
        h: Harness) -> None:
    h.llm.script(MODEL, Reply("Noted."), Reply("Her start date is on her contract."))
    await h.ask("I manage the onboarding of a new colleague.", channel="C1")
    await h.ask("When does <PERSON_1> start?", channel="C1")  # follows a turn: skipped, neither looked up nor stored
    assert h.cache.counters["skip:personal_data"] == 1
    # an answer that names the placeholder is never stored
    h.llm.script(MODEL, Reply("<PERSON_1> can book it in the portal."), Reply("Fresh."))
    await h.ask("How does <PERSON_1> book a desk?", channel="C2")
    h.llm.script(JUDGE, Reply("yes"))
    assert not final_of(await h.ask("How does <PERSON_1> book a desk?", channel="C3")).cached
    # nor one made from a passage that mentions someone masked
    turn = h.engine.new_turn(h_inbound("Is <PERSON_1> on vacation this week?"))
    turn.passages = [Passage(source_id="cal.md#1", text="<PERSON_1>: vacation 1-5 May", metadata={"access": "*"})]
    assert h.cache.store_skip_reason(turn, Final(reply_id="r", text="Yes, until Friday.", model=MODEL)) \
        == "personal_data"


def h_inbound(text: str):  # type: ignore[no-untyped-def]
    from core.models import Inbound

    return Inbound(platform="slack", bot="helpdesk", tenant="T1", channel="C9", user="U1", text=text)
