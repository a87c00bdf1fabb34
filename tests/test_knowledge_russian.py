"""Russian users: Russian keyword search (stems, stop words), Russian and cross-language retrieval over the sample
knowledge base, and `deskmate kb reembed` migrating an index built with the old English-only model."""

from __future__ import annotations

import asyncio
import random
from pathlib import Path

import pytest
import redis.asyncio as aioredis

from bots.cli import build_parser
from bots.settings import load_settings
from core.knowledge.build import SAMPLE_DIR, SAMPLE_PUBLIC_DIR, Knowledge, open_knowledge
from core.knowledge.embeddings import LiteLLMEmbedder, LocalEmbedder
from core.knowledge.errors import ModelMismatch
from core.knowledge.keyword import KeywordIndex, tokenize
from core.knowledge.search import Scope
from core.knowledge.settings import ChromaSettings, EmbeddingsSettings

OLD_MODEL = "local/all-MiniLM-L6-v2"  # the default local model before USE multilingual v3 (384 dimensions)


def _index(*texts: str) -> KeywordIndex:
    return KeywordIndex([f"c{i}" for i in range(len(texts))], texts, [{} for _ in texts])


def test_russian_word_forms_match_each_other_in_keyword_search() -> None:
    index = _index("Возврат товара возможен в течение 30 дней.", "Доставка занимает от 3 до 5 дней.",
                   "Подписку можно отменить в личном кабинете.")
    assert [cid for cid, _ in index.search("сроки возврата", 3)] == ["c0"]
    assert [cid for cid, _ in index.search("как отменить подписки?", 3)] == ["c2"]
    assert [cid for cid, _ in index.search("доставкой", 3)] == ["c1"]
    assert tokenize("ёлка") == tokenize("елка"), "ё and е are the same letter for search"


def test_stop_words_do_not_match_and_codes_stay_exact() -> None:
    index = _index("Как мне быть, если что-то не так?", "Ошибка ERR-4031 при входе в VPN.", "Пароль меняют раз в год.")
    assert index.search("как мне это", 3) == [], "only stop words: nothing matches"
    assert [cid for cid, _ in index.search("что значит ERR-4031", 3)] == ["c1"]
    assert "err-4031" in tokenize("ERR-4031"), "a code is one token, not stemmed"
    assert tokenize("refunds and returning") == ["refund", "return"], "English is stemmed too"


async def test_russian_customer_faq_is_found_in_russian_and_from_english(kb: Knowledge) -> None:
    await kb.ingest([str(SAMPLE_DIR), str(SAMPLE_PUBLIC_DIR)], "company")
    cases = {
        "Как оформить возврата товара?": "vozvrat.md",
        "сколько стоит экспресс доставка": "dostavka.md",
        "как отменить подписку": "podpiska.md",
        "How do I cancel my DeskMate Care subscription?": "podpiska.md",
    }
    for question, want in cases.items():
        passages = await kb.searcher.search(question, ["company"], Scope("T1"))
        assert want in [Path(p.url).name for p in passages[:3]], question
    # and a Russian question over an English-only page
    passages = await kb.searcher.search("какой адрес VPN шлюза во Франкфурте?", ["company"], Scope("T1"))
    assert passages and Path(passages[0].url).name == "it-vpn.md"


async def test_kb_reembed_migrates_an_index_built_with_the_old_model(
        tmp_path: Path, redis: aioredis.Redis, embedder: LocalEmbedder, capsys: pytest.CaptureFixture[str]) -> None:
    """A data dir written by the previous release (MiniLM, 384-d vectors): refused until `deskmate kb reembed`,
    then searchable in Russian; a mixed index is never allowed (old-model writers are refused afterwards)."""
    data_dir = tmp_path / "var"
    socket = redis.connection_pool.connection_kwargs["path"]  # the CLI talks to the same Redis as serve would
    settings = load_settings(data_dir=data_dir, redis_url=f"unix://{socket}")
    kb = await open_knowledge(EmbeddingsSettings(), ChromaSettings(), data_dir, redis)
    try:
        old = await kb.store.open("company", OLD_MODEL, 384)
        texts = ["Refunds go back to the original payment method within 10 business days.",
                 "The VPN gateway in Frankfurt is vpn-eu.example.com."]
        rnd = random.Random(3)
        await asyncio.to_thread(
            old.add, ids=["refund-0", "vpn-0"], embeddings=[[rnd.uniform(-1, 1) for _ in range(384)] for _ in texts],
            documents=texts, metadatas=[{"doc": f"d{i}", "title": t, "section": "", "tenant": "*", "access": "*",
                                         "source": f"/kb/{t}.md", "url": f"/kb/{t}.md"}
                                        for i, t in enumerate(("Refunds", "VPN"))])
        version = await kb.kb_version("T1", ["company"])
        with pytest.raises(ModelMismatch, match="kb reembed company"):
            await kb.searcher.search("refund", ["company"], Scope("T1"))
        with pytest.raises(ModelMismatch):
            await kb.ingest([str(SAMPLE_DIR / "it-vpn.md")], "company")  # no new vectors next to the old ones
    finally:
        await kb.aclose()

    args = build_parser().parse_args(["kb", "list"])
    assert await args.func(args, settings) == 0
    assert OLD_MODEL in capsys.readouterr().out
    args = build_parser().parse_args(["kb", "reembed", "company"])
    assert await args.func(args, settings) == 0
    assert "re-embedded 2 chunks of company with local/use-multilingual-v3" in capsys.readouterr().out

    kb = await open_knowledge(EmbeddingsSettings(), ChromaSettings(), data_dir, redis)
    try:
        stats = await kb.stats("company")
        assert (stats.model, stats.chunks) == ("local/use-multilingual-v3", 2)
        assert await kb.kb_version("T1", ["company"]) != version, "cached answers from the old index expire"
        passages = await kb.searcher.search("когда вернут деньги за возврат?", ["company"], Scope("T1"))
        assert passages and passages[0].title == "Refunds"
        assert await kb.collections() == ["company"], "no half-built copy is left behind"
        stale = Knowledge(LiteLLMEmbedder(OLD_MODEL, dim=384), kb.store)
        with pytest.raises(ModelMismatch):
            await stale.ingest([str(SAMPLE_DIR / "it-vpn.md")], "company")
        with pytest.raises(ModelMismatch):
            await stale.searcher.search("vpn", ["company"], Scope("T1"))
    finally:
        await kb.aclose()
