"""Knowledge ingestion: formats, structure-aware chunks, incremental re-ingest, bad files, model guard, CLI."""

from __future__ import annotations

import asyncio
import itertools
import re
import shutil
from pathlib import Path

import pytest
import redis.asyncio as aioredis

from bots.cli import build_parser
from bots.settings import load_settings
from core.knowledge.build import SAMPLE_DIR, Knowledge
from core.knowledge.chunking import chunk_document, count_tokens
from core.knowledge.embeddings import LiteLLMEmbedder, LocalEmbedder
from core.knowledge.errors import ModelMismatch
from core.knowledge.loaders import Block, CsvMapping, Document
from core.knowledge.search import Scope
from core.knowledge.store import Store

SAMPLE_FILES = sorted(p.name for p in SAMPLE_DIR.iterdir() if not p.name.startswith("."))


def chunks_of(kb: Knowledge, collection: str) -> dict[str, dict]:
    coll = kb.store.client.get_collection("kb_" + collection)
    rows = Store.get_all_sync(coll, ["metadatas", "documents"])
    return {cid: {"meta": m, "text": d} for cid, m, d in zip(rows["ids"], rows["metadatas"], rows["documents"],
                                                                strict=True)}


async def test_sample_docs_and_a_broken_pdf_ingest_with_the_broken_one_reported(kb: Knowledge, tmp_path: Path) -> None:
    folder = tmp_path / "docs"
    shutil.copytree(SAMPLE_DIR, folder)
    (folder / "scanned-contract.pdf").write_bytes(b"%PDF-1.4\n1 0 obj << /Type /Catalog >>\ntruncated")
    (folder / "diagram.vsdx").write_bytes(b"\x00\x01binary")
    report = await kb.ingest([str(folder)], "company")

    assert report.added == len(SAMPLE_FILES) and report.updated == report.unchanged == report.removed == 0
    failed = {Path(name).name: reason for name, reason in report.failed}
    assert set(failed) == {"scanned-contract.pdf", "diagram.vsdx"}
    assert "PDF" in failed["scanned-contract.pdf"] and "unsupported" in failed["diagram.vsdx"]
    rows = chunks_of(kb, "company")
    assert len(rows) == report.chunks > len(SAMPLE_FILES)
    sources = {Path(r["meta"]["source"]).name for r in rows.values()}
    assert sources == set(SAMPLE_FILES)
    # every chunk carries what a citation and the filters need
    for row in rows.values():
        meta = row["meta"]
        assert meta["title"] and meta["url"] and meta["updated"] > 0 and meta["hash"]
        assert meta["tenant"] == "*" and meta["access"] == "*"
        assert count_tokens(row["text"]) <= 180
    vpn_rows = [r for r in rows.values() if "ERR-4031" in r["text"] and r["meta"]["title"] == "VPN access"]
    assert len(vpn_rows) == 1 and vpn_rows[0]["meta"]["section"] == "Common errors"
    assert "ERR-4032" not in vpn_rows[0]["text"], "a table row is its own chunk"
    csv_rows = [r for r in rows.values() if r["meta"]["source"].endswith(".csv")]
    assert len(csv_rows) == 5, "one chunk per CSV record"


async def test_re_ingest_embeds_only_the_edited_file_and_removes_deleted_ones(
        kb: Knowledge, tmp_path: Path, redis: aioredis.Redis) -> None:
    folder = tmp_path / "docs"
    shutil.copytree(SAMPLE_DIR, folder)
    first = await kb.ingest([str(folder)], "company")
    before = chunks_of(kb, "company")
    version1 = await kb.kb_version("T1", ["company"])

    again = await kb.ingest([str(folder)], "company")
    assert (again.added, again.updated, again.unchanged, again.chunks) == (0, 0, len(SAMPLE_FILES), 0)
    assert await kb.kb_version("T1", ["company"]) == version1, "a no-op re-ingest keeps caches valid"

    edited = folder / "hr-time-off.md"
    edited.write_text(edited.read_text().replace("25 days of paid vacation", "28 days of paid vacation"))
    (folder / "security-policy.md").unlink()
    report = await kb.ingest([str(folder)], "company")
    assert (report.added, report.updated, report.unchanged, report.removed) == (0, 1, len(SAMPLE_FILES) - 2, 1)
    after = chunks_of(kb, "company")
    edited_ids = {cid for cid, r in after.items() if r["meta"]["source"] == str(edited.resolve())}
    assert report.chunks == len(edited_ids), "only the edited document was re-embedded"
    untouched = {cid: r for cid, r in before.items()
                 if r["meta"]["source"] not in {str(edited.resolve()), str((folder / "security-policy.md").resolve())}}
    assert all(after[cid]["meta"]["hash"] == r["meta"]["hash"] for cid, r in untouched.items())
    assert not any("security-policy" in r["meta"]["source"] for r in after.values())
    assert any("28 days" in r["text"] for r in after.values())
    assert not any("25 days of paid vacation" in r["text"] for r in after.values())
    assert len(after) == first.chunks - sum(1 for r in before.values() if "security-policy" in r["meta"]["source"])
    assert await kb.kb_version("T1", ["company"]) != version1
    passages = await kb.searcher.search("How many days of paid vacation do I get?", ["company"], Scope("T1"))
    assert "28 days" in passages[0].text


async def test_a_collection_refuses_another_embedding_model_until_reembedded(
        kb: Knowledge, tmp_path: Path, redis: aioredis.Redis) -> None:
    (tmp_path / "a.md").write_text("# Printers\n\nThe office printer on floor 3 is called Gutenberg.\n")
    await kb.ingest([str(tmp_path / "a.md")], "company")
    other = Knowledge(LiteLLMEmbedder("openai/text-embedding-3-small", dim=1536), kb.store)
    with pytest.raises(ModelMismatch, match="kb reembed company"):
        await other.ingest([str(tmp_path / "a.md")], "company")
    with pytest.raises(ModelMismatch):
        await other.searcher.search("printer", ["company"], Scope("T1"))

    # a collection built with another model is rebuilt, text kept, by the explicit reembed command
    legacy = await kb.store.open("legacy", "some/old-model", 384)
    vectors = await kb.embedder.embed(["The VPN gateway in Frankfurt is vpn-eu."])
    await asyncio.to_thread(legacy.add, ids=["d-00000"], embeddings=vectors,
                            documents=["The VPN gateway in Frankfurt is vpn-eu."], metadatas=[{"doc": "d", "title": "VPN", "tenant": "*", "access": "*", "source": "x"}])
    with pytest.raises(ModelMismatch):
        await kb.searcher.search("vpn gateway", ["legacy"], Scope("T1"))
    assert await kb.reembed("legacy") == 1
    passages = await kb.searcher.search("Which VPN gateway is in Frankfurt?", ["legacy"], Scope("T1"))
    assert passages and "vpn-eu" in passages[0].text
    assert (await kb.stats("legacy")).model == kb.embedder.model_id


async def test_html_docx_csv_mapping_and_text_keep_their_structure(kb: Knowledge, tmp_path: Path) -> None:
    import docx

    folder = tmp_path / "misc"
    folder.mkdir()

    (folder / "page.html").write_text(
        "<html><head><title>Parking</title><script>var x=1;</script></head><body><h1>Parking</h1>"
        "<h2>Bicycles</h2><p>Bicycle racks are in the basement, level -1.</p>"
        "<h2>Cars</h2><p>Car spaces must be booked in the Office app.</p></body></html>")
    document = docx.Document()
    document.core_properties.title = "Travel policy"
    document.add_heading("Trains", level=1)
    document.add_paragraph("Trains are preferred for trips under 5 hours.")
    table = document.add_table(rows=2, cols=2)
    table.rows[0].cells[0].text, table.rows[0].cells[1].text = "City", "Hotel cap"
    table.rows[1].cells[0].text, table.rows[1].cells[1].text = "Zurich", "250 USD"
    document.save(str(folder / "travel.docx"))
    (folder / "faq.csv").write_text("question,answer,area\nHow do I book a room?,Use the Rooms tab in Outlook.,"
                                      "Facilities\nWhere is lost and found?,At reception on floor 1.,Facilities\n")
    (folder / "notes.txt").write_text("Kitchen rules.\n\nClean the coffee machine on Fridays.\n")
    mapping = CsvMapping.parse("title=question,text=answer,section=area")
    report = await kb.ingest([str(folder)], "misc", csv_mapping=mapping)
    assert report.added == 4 and not report.failed
    rows: dict[tuple[str, str], str] = {}
    for r in chunks_of(kb, "misc").values():
        key = (r["meta"]["title"], r["meta"]["section"])
        rows[key] = rows.get(key, "") + "\n" + r["text"]
    assert "basement" in rows[("Parking", "Bicycles")] and "var x" not in " ".join(rows.values())
    assert "under 5 hours" in rows[("Travel policy", "Trains")]
    assert any("Zurich" in t and "250 USD" in t for t in rows.values())
    assert "Rooms tab" in rows[("faq", "Facilities > How do I book a room?")]
    assert any("coffee machine" in t for (title, _), t in rows.items() if title == "notes")


def test_long_sections_split_into_token_sized_chunks_with_overlap() -> None:
    sentences = [f"Sentence number {i} explains step {i} of the onboarding checklist in detail." for i in range(80)]
    doc = Document("Onboarding", [Block(" ".join(sentences), ("Checklist",))])
    chunks = chunk_document(doc, max_tokens=120, overlap=0.15)
    assert len(chunks) > 3
    for prev, nxt in itertools.pairwise(chunks):
        assert count_tokens(prev.text) <= 120 and nxt.section == ("Checklist",)
        shared = set(re.findall(r"Sentence number (\d+)", prev.text)) & set(re.findall(r"number (\d+)", nxt.text))
        overlap = len(shared) * count_tokens(sentences[0]) / count_tokens(prev.text)
        assert 0.05 <= overlap <= 0.25, overlap


async def test_ensure_sample_fills_an_empty_collection_once(kb: Knowledge) -> None:
    first = await kb.ensure_sample("company")
    assert first is not None and [r.added for r in first] == [len(SAMPLE_FILES), 1]  # internal, then HR-only
    assert await kb.ensure_sample("no-such-sample") is None
    assert await kb.ensure_sample("company") is None, "a second start does nothing"


async def test_cli_ingest_prints_a_summary_and_reports_bad_files(
        tmp_path: Path, redis: aioredis.Redis, embedder: LocalEmbedder, capsys: pytest.CaptureFixture[str]) -> None:
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "wifi.md").write_text("# Wi-Fi\n\n## Guests\n\nThe guest network is AcmeGuest, password on the badge.\n")
    (folder / "broken.pdf").write_bytes(b"not a pdf at all")
    settings = load_settings(data_dir=tmp_path / "var")
    args = build_parser().parse_args(["ingest", str(folder), "--collection", "it", "--tag", "dept=it", "--quiet"])
    assert await args.func(args, settings) == 0
    out = capsys.readouterr().out
    assert "1 added" in out and "broken.pdf" in out
    args = build_parser().parse_args(["kb", "stats", "it", "--docs"])
    assert await args.func(args, settings) == 0
    out = capsys.readouterr().out
    assert "documents:      1" in out and "wifi.md" in out
    args = build_parser().parse_args(["ingest", str(folder), "--tag", "oops"])
    assert await args.func(args, settings) == 2
