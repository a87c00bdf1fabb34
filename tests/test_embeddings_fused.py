"""The opt-in fused local embedder (`DESKMATE_EMBEDDINGS__LOCAL_MODEL=use+e5`, core/knowledge/embed_fused.py): a
Russian question finds the English passage; unrelated passages stay under the relevance floor; an index built
with plain USE is refused until `deskmate kb reembed`, then searchable; questions and passages are embedded
differently (e5's query/passage prefixes); words for the bridge and the cache keep plain USE."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import redis.asyncio as aioredis

from bots.cli import build_parser
from bots.settings import load_settings
from core.errors import ConfigError
from core.knowledge.build import SAMPLE_DIR, SAMPLE_PUBLIC_DIR, open_knowledge
from core.knowledge.embed_fused import FUSED_MODEL_ID, FusedLocalEmbedder
from core.knowledge.embeddings import LOCAL_MODEL_ID, build_embedder
from core.knowledge.errors import ModelMismatch
from core.knowledge.search import Scope
from core.knowledge.settings import ChromaSettings, EmbeddingsSettings

FUSED = EmbeddingsSettings(local_model="use+e5")


def _cos(a: list[float], b: list[float]) -> float:
    return float(np.dot(a, b) / (np.linalg.norm(a) * np.linalg.norm(b)))


async def test_fused_vectors_rank_a_translation_above_an_unrelated_passage() -> None:
    embedder = build_embedder(FUSED)
    assert isinstance(embedder, FusedLocalEmbedder) and embedder.model_id == FUSED_MODEL_ID
    assert embedder.phrases.model_id == LOCAL_MODEL_ID, "words and the cache keep plain USE"
    passages = await embedder.embed(["Refunds go back to the original payment method within 10 business days.",
                                     "The office kitchen is cleaned every Friday afternoon."])
    question = (await embedder.embed_query(["когда вернут деньги за возврат?"]))[0]
    assert len(question) == embedder.dim == len(passages[0])
    assert all(abs(np.linalg.norm(v) - 1.0) < 1e-3 for v in [*passages, question]), "unit vectors: cosine = dot"
    related, unrelated = _cos(question, passages[0]), _cos(question, passages[1])
    assert related > 0.3 > unrelated, (related, unrelated)  # the relevance floor (0.3) keeps its meaning
    same_text = (await embedder.embed_query(["Refunds go back to the original payment method."]))[0]
    stored = (await embedder.embed(["Refunds go back to the original payment method."]))[0]
    assert _cos(same_text, stored) < 0.999, "a question is embedded with e5's query prefix, a passage with passage:"


async def test_russian_questions_find_the_sample_kb_with_the_fused_model(tmp_path: Path,
                                                                        redis: aioredis.Redis) -> None:
    kb = await open_knowledge(FUSED, ChromaSettings(), tmp_path / "var", redis)
    try:
        files = [SAMPLE_DIR / f for f in ("it-vpn.md", "it-mfa-device.md", "it-password-reset.md", "hr-time-off.md")]
        await kb.ingest([str(f) for f in files] + [str(SAMPLE_PUBLIC_DIR)], "company")  # e5: ~0.1 s a chunk
        assert (await kb.stats("company")).model == FUSED_MODEL_ID
        cases = {"какой адрес VPN шлюза во Франкфурте?": "it-vpn.md", "как отменить подписку": "podpiska.md",
                 "How many days do I have to return an item?": "vozvrat.md",
                 "что делать, если потерял телефон с приложением для двухфакторной аутентификации": "it-mfa-device.md"}
        for question, want in cases.items():
            passages = await kb.searcher.search(question, ["company"], Scope("T1"))
            assert want in [Path(p.url).name for p in passages[:3]], question
        assert kb.searcher.bridge, "the cross-lingual keyword bridge stays on (its words are embedded with USE)"
    finally:
        await kb.aclose()


async def test_an_index_built_with_plain_use_is_refused_until_reembedded(
        tmp_path: Path, redis: aioredis.Redis, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    data_dir = tmp_path / "var"
    kb = await open_knowledge(EmbeddingsSettings(), ChromaSettings(), data_dir, redis)
    try:
        await kb.ingest([str(SAMPLE_DIR / "it-vpn.md")], "company")
    finally:
        await kb.aclose()
    fused = await open_knowledge(FUSED, ChromaSettings(), data_dir, redis)
    try:
        with pytest.raises(ModelMismatch, match="kb reembed company"):
            await fused.searcher.search("vpn", ["company"], Scope("T1"))
        with pytest.raises(ModelMismatch):
            await fused.ingest([str(SAMPLE_DIR / "it-password-reset.md")], "company")  # never a mixed index
    finally:
        await fused.aclose()

    socket = redis.connection_pool.connection_kwargs["path"]
    monkeypatch.setenv("DESKMATE_EMBEDDINGS__LOCAL_MODEL", "use+e5")
    settings = load_settings(data_dir=data_dir, redis_url=f"unix://{socket}")
    args = build_parser().parse_args(["kb", "reembed", "company"])
    assert await args.func(args, settings) == 0
    assert f"with {FUSED_MODEL_ID}" in capsys.readouterr().out

    fused = await open_knowledge(FUSED, ChromaSettings(), data_dir, redis)
    try:
        passages = await fused.searcher.search("адрес VPN во Франкфурте", ["company"], Scope("T1"))
        assert passages and Path(passages[0].url).name == "it-vpn.md"
    finally:
        await fused.aclose()
    plain = await open_knowledge(EmbeddingsSettings(), ChromaSettings(), data_dir, redis)
    try:
        with pytest.raises(ModelMismatch):
            await plain.searcher.search("vpn", ["company"], Scope("T1"))
    finally:
        await plain.aclose()


def test_an_unknown_local_model_fails_at_start_up_naming_the_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DESKMATE_EMBEDDINGS__LOCAL_MODEL", "e5-large")
    with pytest.raises(ConfigError, match="DESKMATE_EMBEDDINGS__LOCAL_MODEL"):
        load_settings()
    monkeypatch.setenv("DESKMATE_EMBEDDINGS__LOCAL_MODEL", "use+e5")
    monkeypatch.setenv("DESKMATE_EMBEDDINGS__LOCAL_USE_WEIGHT", "1.5")
    with pytest.raises(ConfigError, match="DESKMATE_EMBEDDINGS__LOCAL_USE_WEIGHT"):
        load_settings()
