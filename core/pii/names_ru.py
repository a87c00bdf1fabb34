"""Russian person names (PERSON) inside Presidio: natasha's NER plus pymorphy2's name dictionary.

natasha (Segmenter + NewsEmbedding + NewsNERTagger over `Doc.tag_ner`) finds capitalised names in context,
including names it has never seen; pymorphy2 (natasha's MorphVocab) knows first names, patronymics and
surnames in all six cases, which catches what NER misses: lower-case names («позвоните ивану»), a name
after a role word («курьер Алексей»), «Петрову А.В.». Only Cyrillic text is looked at (Latin names are the
English recognizers' job), so the recognizer is registered for every language: a Russian name in an
English message is found too.

Cost: NER runs only on windows around capitalised Cyrillic words that may be names and that the dictionary
did not already put inside a name (a sentence that only starts with a capital letter is skipped), ~1-4 ms per
window on one BLAS thread; dictionary look-ups are cached.
"""

from __future__ import annotations

import bisect
import re
import warnings
from functools import lru_cache
from typing import Any, ClassVar

from presidio_analyzer import LocalRecognizer, RecognizerResult

from core.morph import morph_vocab
from core.pii.names_filter import keep_names
from core.pii.results import found

_WORD = re.compile(r"[А-ЯЁа-яё]+(?:-[А-ЯЁа-яё]+)?")
_INITIALS = re.compile(r"\s?[А-ЯЁ]\.\s?(?:[А-ЯЁ]\.)?")
_INITIALS_BEFORE = re.compile(r"[А-ЯЁ]\.\s?(?:[А-ЯЁ]\.\s?)?\Z")
_SENTENCE_START = re.compile(r"(?:\A|[.!?\n:;«\"(—-])\s*\Z")
_PREPOSITION_AFTER = re.compile(r"[ \t]+(?:на|в|во|к|ко)[ \t]+([А-ЯЁа-яё]+)")
_THANK_GOD = re.compile(r"[ \t]+[бБ]огу(?![А-ЯЁа-яё])")
WINDOW = 32  # characters of context either side of a candidate name given to NER
# Lower-case words pymorphy2 also knows as a first name, which in chat are far more often something else.
_COMMON = frozenset({
    "мир", "вера", "надежда", "любовь", "слава", "роман", "лев", "марка", "карина", "виктория", "лиза",
    "ангелина", "май", "август", "мая", "августа", "роза", "лилия", "злата", "влад", "яна", "нина",
})


class NatashaPersonRecognizer(LocalRecognizer):
    """PERSON in Cyrillic text: natasha NER spans + dictionary names, joined into one span per person."""

    ENTITIES: ClassVar[list[str]] = ["PERSON"]

    def __init__(self, supported_language: str) -> None:
        self._models: tuple[Any, Any, Any] | None = None
        super().__init__(supported_entities=self.ENTITIES, supported_language=supported_language,
                         name=f"NatashaPerson_{supported_language}")

    def load(self) -> None:
        self._models = _natasha()

    def analyze(self, text: str, entities: list[str], nlp_artifacts: object = None) -> list[RecognizerResult]:
        if "PERSON" not in entities or not re.search(r"[А-ЯЁа-яё]", text):
            return []
        segmenter, tagger, morph = self._models or _natasha()
        words = [(m.start(), m.end(), m.group()) for m in _WORD.finditer(text)]
        spans: list[tuple[int, int]] = []
        candidates: list[int] = []
        for i, (start, end, word) in enumerate(words):
            kind = _kind(word, morph)
            capital = word[0].isupper()
            initial = bool(_SENTENCE_START.search(text[max(0, start - 3):start]))
            if initial and word.lower() in _COMMON and _word_use(text, end, morph):
                continue  # «Надежда на вас», «Вера в успех»: a word, not a name
            if capital and not (initial and kind == "word"):
                candidates.append(start)
            if kind == "name" and (capital or (word.lower() not in _COMMON and _name_share(word, morph) >= 0.5)):
                spans.append((start, end))
            elif kind == "surname" and capital and not initial and _near_initials(text, start, end):
                spans.append((start, end))
            elif capital and i and not initial and kind == "surname" and _is_name_kind(words[i - 1][2], morph):
                spans.append((start, end))
        # NER only around capitalised words the dictionary did not already place inside a name: it could only
        # find the same span again (its spans are added, never subtracted).
        known = _extend(text, _merge(spans), words, morph)
        candidates = [pos for pos in candidates if not _inside(known, pos)]
        spans = known + self._ner(text, candidates, segmenter, tagger, morph)
        merged = _extend(text, _merge(spans), words, morph)
        return keep_names(text, [found(self, "PERSON", s, e, 0.85) for s, e in merged])

    def _ner(self, text: str, candidates: list[int], segmenter: Any, tagger: Any, morph: Any) -> list[tuple[int, int]]:
        from natasha import Doc

        windows: list[list[int]] = []
        for pos in candidates:
            start, end = max(0, pos - WINDOW), min(len(text), pos + WINDOW)
            if windows and start <= windows[-1][1]:
                windows[-1][1] = end
            else:
                windows.append([start, end])
        found = []
        for start, end in windows:
            # Cut at word boundaries so that NER never sees half a word.
            while start > 0 and text[start - 1].isalnum():
                start -= 1
            while end < len(text) and text[end].isalnum():
                end += 1
            doc = Doc(text[start:end])
            doc.segment(segmenter)
            doc.tag_ner(tagger)
            for span in doc.spans:
                if span.type == "PER" and _plausible(span.text, morph):
                    found.append((start + span.start, start + span.stop))
        return found


@lru_cache(maxsize=1)
def _natasha() -> tuple[Any, Any, Any]:
    with warnings.catch_warnings():  # pymorphy2 imports pkg_resources (setuptools<81 keeps it)
        warnings.simplefilter("ignore")
        from natasha import NewsEmbedding, NewsNERTagger, Segmenter

        return Segmenter(), NewsNERTagger(NewsEmbedding()), morph_vocab()  # shared with core/translit.py


@lru_cache(maxsize=50_000)
def _parses(word: str, morph: Any) -> tuple[tuple[str, float], ...]:
    return tuple((str(p.tag), float(p.score)) for p in morph.parse(word.lower()))


def _name_share(word: str, morph: Any) -> float:
    return sum(score for tag, score in _parses(word, morph) if "Name" in tag or "Patr" in tag)


@lru_cache(maxsize=50_000)
def _kind_cached(word: str, morph: Any) -> str:
    parses = _parses(word, morph)
    name = sum(s for t, s in parses if "Name" in t or "Patr" in t)
    surname = sum(s for t, s in parses if "Surn" in t)
    if word[0].islower() and not morph.word_is_known(word):
        return "unknown"  # pymorphy2 guesses a name for unknown words («токен»): not for lower-case ones
    if name >= 0.2 or (word[0].isupper() and name > 0 and surname == 0 and len(parses) <= 3):
        return "name"
    if surname >= 0.1:
        return "surname"
    if not morph.word_is_known(word.lower()):
        return "unknown"
    return "word"


def _kind(word: str, morph: Any) -> str:
    return _kind_cached(word if word[0].isupper() else word.lower(), morph)


def _word_use(text: str, end: int, morph: Any) -> bool:
    """«Надежда на вас», «Вера в успех», «Любовь к деталям»: a preposition and a word not in the locative (a place
    would make it a person: «Вера в офисе?»)."""
    if _THANK_GOD.match(text, end):
        return True  # «Слава богу»
    m = _PREPOSITION_AFTER.match(text, end)
    if not m:
        return False
    parses = _parses(m.group(1), morph)
    return bool(parses) and "loct" not in parses[0][0]


def _is_patronymic(word: str, morph: Any) -> bool:
    return any("Patr" in tag for tag, _ in _parses(word, morph))


def _is_name_kind(word: str, morph: Any) -> bool:
    return word[0].isupper() and _kind(word, morph) == "name"


def _near_initials(text: str, start: int, end: int) -> bool:
    return bool(_INITIALS.match(text, end) and re.match(r"\s?[А-ЯЁ]\.", text[end:end + 3])) or bool(
        _INITIALS_BEFORE.search(text[max(0, start - 6):start]))


def _plausible(span_text: str, morph: Any) -> bool:
    """NER's PER span, unless every word is a known common word (no name, surname or patronymic reading)."""
    words = _WORD.findall(span_text)
    return bool(words) and any(_kind(w, morph) != "word" for w in words)


def _inside(spans: list[tuple[int, int]], pos: int) -> bool:
    """`pos` inside one of the sorted, disjoint `spans` (a binary search: thousands of names stay linear)."""
    i = bisect.bisect_right(spans, (pos, 1 << 62)) - 1
    return i >= 0 and spans[i][0] <= pos < spans[i][1]


def _merge(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    out: list[list[int]] = []
    for s, e in sorted(spans):
        if out and s <= out[-1][1]:
            out[-1][1] = max(out[-1][1], e)
        else:
            out.append([s, e])
    return [(s, e) for s, e in out]


_GAP_AFTER = re.compile(r"[ \t]+")
MAX_STEPS = 5  # words or initials a span grows by on either side: a person has a few names, not a paragraph


def _gap_before(text: str, pos: int) -> int:
    """Spaces and tabs right before `pos` (counted backwards: no regex over the whole text before it)."""
    i = pos
    while i > 0 and text[i - 1] in " \t":
        i -= 1
    return pos - i


def _extend(text: str, spans: list[tuple[int, int]], words: list[tuple[int, int, str]],
            morph: Any) -> list[tuple[int, int]]:
    """Grow each span over adjacent initials and name words of the same case («Ивана Петрова», «ивану петрову»).

    Each span grows by at most MAX_STEPS on either side, and one inside the span before it is not grown again, so
    a long run of names costs linear time («Ольги Николаевны Беловой» repeated 20,000 characters long)."""
    out: list[tuple[int, int]] = []
    starts = {s: (e, w) for s, e, w in words}
    ends = {e: (s, w) for s, e, w in words}
    for s, e in spans:
        lower = text[s].islower()
        if out and out[-1][0] <= s and e <= out[-1][1] and text[out[-1][0]].islower() == lower:
            continue
        for _ in range(MAX_STEPS):
            m = _INITIALS.match(text, e)
            if m and m.group().strip():
                e = m.end()
                continue
            nxt = _GAP_AFTER.match(text, e)
            gap = nxt.end() - e if nxt else 0
            w = starts.get(e + gap)
            if gap and w and w[1][0].islower() == lower and _kind(w[1], morph) in ("name", "surname"):
                e = w[0]
                continue
            break
        for _ in range(MAX_STEPS):
            before = _INITIALS_BEFORE.search(text[max(0, s - 6):s])
            if before and before.group().strip():
                s -= len(before.group())
                continue
            gap = _gap_before(text, s)
            w = ends.get(s - gap)
            first = starts.get(s, (e, text[s:min(e, s + 40)].split()[0]))[1]
            if gap and w and w[1][0].islower() == lower and (_kind(w[1], morph) in ("name", "surname") or (
                    not lower and _is_patronymic(first, morph) and _name_share(w[1], morph) > 0)):
                s = w[0]  # and a first name that is mostly a word before a patronymic: «Любовь Петровна»
                continue
            break
        out.append((s, e))
    return _merge(out)
