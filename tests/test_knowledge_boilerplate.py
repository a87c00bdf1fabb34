"""Boilerplate repeated across the pages of one site is not knowledge: it is never a retrieved passage."""

from __future__ import annotations

from pathlib import Path

from core.knowledge.build import Knowledge
from core.knowledge.search import Scope
from core.knowledge.store import Store

FOOTER = ("Cookie notice: the Acme help centre stores cookies to remember your language and region between visits. "
          "Acme Support Portal, all rights reserved.")
FOOTER_RU = "Мы используем файлы cookie, чтобы запомнить ваш язык и регион между визитами. Портал поддержки Acme."
TOPICS = {
    "vpn": ("Connecting to the VPN", "Install the WireGuard client and import the profile from the IT portal. "
            "The tunnel reconnects by itself after the laptop wakes from sleep."),
    "printer": ("Office printers", "Printers on every floor accept jobs from the Follow-Me queue. Hold your badge "
                "to the reader to release a job; jobs not released in 24 hours are deleted."),
    "expenses": ("Travel expenses", "Hotels are reimbursed up to 180 euros a night in capitals. Submit receipts "
                 "within thirty days of returning from the trip."),
    "laptop": ("Laptop replacement", "Laptops are replaced every four years. A broken screen is repaired at the "
               "service desk on the second floor within two working days."),
    "parking": ("Parking", "The garage under building B has forty spaces for visitors. Book one the day before "
                "through the reception desk."),
}


def page(title: str, body: str, extra: str = "") -> str:
    """A help-centre page: a header menu and a footer that sit inside <main>, where trafilatura keeps them."""
    return f"""<!doctype html><html><head><title>{title}</title></head><body><main><article>
<h1>{title}</h1>
<p>{body}</p>
<p>{body.split('. ')[0]} is explained in more detail by the team that owns it, on request.</p>
{extra}
<p>{FOOTER}</p>
<p>{FOOTER_RU}</p>
</article></main></body></html>"""


def write_site(folder: Path, topics: dict[str, tuple[str, str]]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for name, (title, body) in topics.items():
        (folder / f"{name}.html").write_text(page(title, body), encoding="utf-8")


def chunk_texts(kb: Knowledge, collection: str) -> list[str]:
    rows = Store.get_all_sync(kb.store.client.get_collection("kb_" + collection), ["documents"])
    return [d or "" for d in rows["documents"]]


async def search(kb: Knowledge, query: str, collection: str = "site") -> list[str]:
    found = await kb.searcher.search(query, [collection], Scope(tenant="T1"), top_k=5, min_similarity=0.0)
    return [p.text for p in found]


async def test_a_footer_repeated_on_every_page_is_never_a_passage(kb: Knowledge, tmp_path: Path) -> None:
    site = tmp_path / "site"
    write_site(site, TOPICS)
    report = await kb.ingest([str(site)], "site")
    assert report.added == len(TOPICS) and not report.failed
    assert report.boilerplate == 2 * len(TOPICS), "the English and the Russian footer, on every page"
    assert "repeated blocks dropped" in report.summary()

    for query in ("does the help centre store cookies to remember my language?", "Acme Support Portal rights",
                  "используете ли вы файлы cookie, чтобы запомнить язык?"):
        passages = await search(kb, query)
        assert passages, query
        assert not any("cookie" in p.lower() for p in passages), (query, passages)
    assert not any("cookie" in t.lower() for t in chunk_texts(kb, "site"))
    # each page's own content is still there and found
    best = await search(kb, "how long do I have to submit hotel receipts after a trip?")
    assert "thirty days" in best[0]


async def test_two_pages_sharing_a_paragraph_keep_it_and_a_single_page_keeps_its_footer(
        kb: Knowledge, tmp_path: Path) -> None:
    pair = tmp_path / "pair"
    write_site(pair, dict(list(TOPICS.items())[:2]))
    report = await kb.ingest([str(pair)], "pair")
    assert report.boilerplate == 0, "two pages are too few to call a shared block boilerplate"
    assert sum("cookie" in t.lower() for t in chunk_texts(kb, "pair")) >= 2

    # on a bigger site, a paragraph two pages share (real content) stays
    site = tmp_path / "site"
    topics = dict(TOPICS)
    topics.update({f"extra{i}": (f"Extra topic {i}", f"Extra topic number {i} has its own unique text about "
                                 f"widget model {i}.") for i in range(5)})
    write_site(site, topics)
    shared = "<p>Badge readers on the doors log every entry; lost badges are blocked within the hour.</p>"
    for name in ("vpn", "laptop"):
        (site / f"{name}.html").write_text(page(*TOPICS[name], extra=shared), encoding="utf-8")
    await kb.ingest([str(site)], "site")
    assert sum("Badge readers on the doors" in t for t in chunk_texts(kb, "site")) == 2
    assert not any("cookie" in t.lower() for t in chunk_texts(kb, "site"))


async def test_a_page_added_later_drops_the_footer_counted_on_unchanged_pages(kb: Knowledge, tmp_path: Path) -> None:
    site = tmp_path / "site"
    write_site(site, TOPICS)
    await kb.ingest([str(site)], "site")
    (site / "wifi.html").write_text(page("Guest Wi-Fi", "Guests join the AcmeGuest network with the code printed "
                                         "on their visitor badge. The code changes every Monday."), encoding="utf-8")
    report = await kb.ingest([str(site)], "site")
    assert (report.added, report.unchanged) == (1, len(TOPICS)), "only the new page is parsed and embedded"
    assert report.boilerplate == 2, "the stored fingerprints of the unchanged pages count"
    texts = chunk_texts(kb, "site")
    assert any("AcmeGuest" in t for t in texts)
    assert not any("cookie" in t.lower() for t in texts)

    # a single file ingested on its own counts with the pages of its folder already in the collection
    (site / "canteen.html").write_text(page("Canteen", "The canteen on the ground floor serves lunch from noon "
                                            "until half past two."), encoding="utf-8")
    report = await kb.ingest([str(site / "canteen.html")], "site")
    assert (report.added, report.boilerplate) == (1, 2)
    assert not any("cookie" in t.lower() for t in chunk_texts(kb, "site"))


async def test_a_copy_of_one_page_saved_many_times_is_kept(kb: Knowledge, tmp_path: Path) -> None:
    site = tmp_path / "copies"
    site.mkdir()
    for i in range(4):
        (site / f"copy{i}.html").write_text(page(*TOPICS["parking"]), encoding="utf-8")
    report = await kb.ingest([str(site)], "copies")
    assert report.added == 4 and report.boilerplate == 0
    assert any("forty spaces" in t for t in chunk_texts(kb, "copies"))
