"""Golden sets and the numbers computed from them: recall@k, MRR, citation correctness, abstention, facts.

A golden set is JSON lines, one question each:
    {"id": "g01", "question": "...", "expected": ["it-vpn.md"], "answerable": true,
     "facts": ["ERR-4040"], "history": ["an earlier user message", ...], "lang": "en"}
`expected` names documents by file name (or any tail of their path or URL); a result counts when it is
any of them. `answerable: false` (with `expected: []`) means a good bot says it found nothing reliable.
`history` (optional) are earlier user messages of the same conversation: the question is a follow-up.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class GoldenItem:
    id: str
    question: str
    expected: tuple[str, ...] = ()
    answerable: bool = True
    facts: tuple[str, ...] = ()
    history: tuple[str, ...] = ()
    lang: str = ""


class GoldenSetError(ValueError):
    """A golden set line is not of the documented form (the message names the line)."""


def load_golden(path: Path) -> list[GoldenItem]:
    items: list[GoldenItem] = []
    seen: set[str] = set()
    for number, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        try:
            raw = json.loads(line)
            question = str(raw["question"]).strip()
        except (ValueError, KeyError, TypeError) as exc:
            raise GoldenSetError(f"{path}:{number}: not a golden item ({type(exc).__name__})") from None
        expected = tuple(str(e) for e in raw.get("expected") or ())
        answerable = bool(raw.get("answerable", bool(expected)))
        if not question or (answerable and not expected) or (not answerable and expected):
            raise GoldenSetError(f"{path}:{number}: an answerable item needs expected sources, "
                                 "an unanswerable one none")
        item_id = str(raw.get("id") or f"line{number}")
        if item_id in seen:
            raise GoldenSetError(f"{path}:{number}: duplicate id {item_id!r}")
        seen.add(item_id)
        items.append(GoldenItem(item_id, question, expected, answerable, tuple(str(f) for f in raw.get("facts") or ()),
                                tuple(str(h) for h in raw.get("history") or ()), str(raw.get("lang", ""))))
    if not items:
        raise GoldenSetError(f"{path}: no questions")
    return items


def matches(expected: str, source: str) -> bool:
    """`source` (a path or URL) is the expected document: equal, or ending in `/expected`."""
    source, expected = source.rstrip("/"), expected.strip().rstrip("/")
    return bool(expected) and (source == expected or source.endswith("/" + expected))


@dataclass
class Outcome:
    """What the bot did with one golden question."""

    item: GoldenItem
    sources: list[str] = field(default_factory=list)  # ranked documents of the retrieved passages (deduplicated)
    cited: list[str] = field(default_factory=list)  # documents the reply cited
    abstained: bool = False  # the reply said nothing reliable was found
    answer: str = ""
    confidence: float | None = None
    faithful: bool | None = None  # judged by the model, when one is configured

    def rank(self) -> int | None:
        """1-based rank of the first expected document among the retrieved ones."""
        for position, source in enumerate(self.sources, start=1):
            if any(matches(e, source) for e in self.item.expected):
                return position
        return None


@dataclass
class Metrics:
    questions: int
    answerable: int
    unanswerable: int
    k: int
    recall_at_k: float
    mrr: float
    citation_correctness: float | None  # of answered questions that cited something: any citation expected
    abstention_precision: float | None  # of the abstentions, share on unanswerable questions
    abstention_recall: float | None  # of the unanswerable questions, share abstained on
    false_abstention_rate: float  # of the answerable questions, share abstained on
    facts_found: float | None  # of the items with facts: share whose reply holds every fact
    faithfulness: float | None
    by_lang: dict[str, dict[str, float]] = field(default_factory=dict)
    misses: list[str] = field(default_factory=list)  # ids of answerable items not found in the top k

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def value(self, name: str) -> float | None:
        return getattr(self, name)


def _ratio(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def score(outcomes: Sequence[Outcome], k: int = 5) -> Metrics:
    answerable = [o for o in outcomes if o.item.answerable]
    unanswerable = [o for o in outcomes if not o.item.answerable]
    ranks = [o.rank() for o in answerable]
    hits = [r for r in ranks if r is not None and r <= k]
    cited = [o for o in answerable if o.cited and not o.abstained]
    cited_right = [o for o in cited if any(matches(e, c) for e in o.item.expected for c in o.cited)]
    abstained = [o for o in outcomes if o.abstained]
    with_facts = [o for o in outcomes if o.item.facts]
    facts_ok = [o for o in with_facts if all(f.lower() in o.answer.lower() for f in o.item.facts)]
    judged = [o for o in outcomes if o.faithful is not None]
    by_lang: dict[str, dict[str, float]] = {}
    for lang in sorted({o.item.lang for o in outcomes if o.item.lang}):
        group = [o for o in answerable if o.item.lang == lang]
        if group:
            r = [o.rank() for o in group]
            by_lang[lang] = {"answerable": len(group),
                             "recall_at_k": round(sum(1 for x in r if x and x <= k) / len(group), 4),
                             "mrr": round(sum(1 / x for x in r if x and x <= k) / len(group), 4)}
    return Metrics(
        questions=len(outcomes), answerable=len(answerable), unanswerable=len(unanswerable), k=k,
        recall_at_k=_ratio(len(hits), len(answerable)) or 0.0,
        mrr=round(sum(1 / r for r in hits) / len(answerable), 4) if answerable else 0.0,
        citation_correctness=_ratio(len(cited_right), len(cited)),
        abstention_precision=_ratio(sum(1 for o in abstained if not o.item.answerable), len(abstained)),
        abstention_recall=_ratio(sum(1 for o in unanswerable if o.abstained), len(unanswerable)),
        false_abstention_rate=_ratio(sum(1 for o in answerable if o.abstained), len(answerable)) or 0.0,
        facts_found=_ratio(len(facts_ok), len(with_facts)),
        faithfulness=_ratio(sum(1 for o in judged if o.faithful), len(judged)),
        by_lang=by_lang,
        misses=[o.item.id for o, r in zip(answerable, ranks, strict=True) if r is None or r > k],
    )


def ranked_sources(sources: Iterable[str]) -> list[str]:
    """Documents in the order their first passage came, each once."""
    return list(dict.fromkeys(s for s in sources if s))
