"""The cache's candidates and hits on labelled pairs: the project's own regression set (tests/data/cache_pairs.csv)
and the held-out set (tests/data/heldout/cache/, written by a session that never read the code)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from core.cache import CacheSettings
from core.cache.evaluate import evaluate_pairs, label_judge, load_heldout, load_pairs, no_model
from core.cache.match import QuestionShape, looks_like_followup, normalize
from tests.test_cache_engine import embedder

DATA = Path(__file__).parent / "data"


async def test_regression_set_with_a_perfect_verifier_and_with_none() -> None:
    pairs = load_pairs(DATA / "cache_pairs.csv")
    kinds = Counter(p.kind for p in pairs)
    assert len(pairs) >= 150 and kinds["paraphrase"] >= 75
    assert {"product", "negation", "entity", "tenant"} <= set(kinds)
    perfect = await evaluate_pairs(pairs, embedder(), CacheSettings(), label_judge(pairs))
    print(f"\nregression set: candidate recall {perfect.candidate_recall:.3f}, calls/lookup "
          f"{perfect.calls_per_lookup:.2f}, precision {perfect.precision:.3f}, hit rate {perfect.hit_rate:.3f}")
    assert perfect.precision == 1.0 and perfect.candidate_recall >= 0.95 and perfect.calls_per_lookup <= 1.0
    none = await evaluate_pairs(pairs, embedder(), CacheSettings(), no_model)
    assert none.false_hits == 0  # without a model, nothing but exact repeats: never a wrong answer


async def test_heldout_set_never_serves_a_wrong_answer_without_a_model() -> None:
    pairs = load_heldout(DATA / "heldout" / "cache" / "pairs.jsonl")
    assert len(pairs) == 463
    report = await evaluate_pairs(pairs, embedder(), CacheSettings(), no_model, crowded=True)
    assert report.false_hits == 0 and report.true_hits >= 15  # the exact repeats, and nothing else


def test_second_check_shapes() -> None:
    assert QuestionShape.of("Why can't I get a refund?").negated
    assert not QuestionShape.of("Can I get a refund?").negated
    assert QuestionShape.of("status of ticket 4521").anchors == {"4521"}
    assert QuestionShape.of("Send it to <PERSON_1>").anchors == {"<PERSON_1>"}
    assert looks_like_followup("and on Mac?") and looks_like_followup("how do I reset it?")
    assert not looks_like_followup("How do I reset my password?")


def test_exact_repeat_normalisation_is_case_punctuation_and_whitespace_only() -> None:
    assert normalize("How do I reset my  password?!") == normalize("how do i reset my password")
    assert normalize("Как сбросить пароль?") == normalize("как  СБРОСИТЬ пароль")
    assert normalize("How do I enable it?") != normalize("How do I disable it?")
    assert normalize("from <EMAIL_1> to <EMAIL_2>") != normalize("from <EMAIL_2> to <EMAIL_1>")
