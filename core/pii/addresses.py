"""Street addresses (STREET_ADDRESS) in Russian, English and European formats, masked as one span.

An address is a chain of components separated by commas or spaces: postcode, region, city, street (with
its type: ул./пр-т/наб./Street/Ave/rue/straße/gracht...), house, building, flat, unit, state + ZIP, UK,
Dutch or Canadian postcodes. A chain is an address when it holds a street or a labelled house/flat number
and at least one more component (or a street with its house number): a city alone («офис в Казани», "our
Berlin office") or a price is never one. City names without a marker (`Москва, ...`, `..., Springfield`)
only join a chain that is an address already.
"""

from __future__ import annotations

import re

from presidio_analyzer import LocalRecognizer, RecognizerResult

from core.pii.address_components import COMPONENTS, HOUSE_NUMBER, NOT_COUNTED, RU_STREET, RU_TYPE, RU_UP
from core.pii.places import RU_CITY_WORDS
from core.pii.results import found

_STRONG = ("street", "unit")
_JOINED = ("street", "unit", "place")  # the parts a preposition may join
# Chat addresses without a street type, looked for only where a city or a flat is written (a regex alternation of
# cities at every position cost 0.3 ms a message): «москва тверская 7-15», «спб на лиговский 50», «невский 28, кв 5»,
# "nevsky 28 kv 5"
_CYR_WORD = re.compile(r"[А-ЯЁа-яё]+(?:-[А-ЯЁа-яё]+)*")
_CITY_MARK = re.compile(r"(?<![А-ЯЁа-яё])(?i:г|гор|город)(?:\.\s?|\s)\Z")  # «г. Самара, Ленина 12»
_NOVGOROD = re.compile(r"\s(?i:новгород[аеу]?)(?![А-ЯЁа-яё])")
_AFTER_CITY = re.compile(rf",?\s(?:(?:на|по)\s)?{RU_STREET}(?:\s(?:{RU_STREET}|{RU_UP}))?,?\s(?:(?i:д|дом)\.?\s?)?"
                         rf"(?!(?:19|20)\d\d(?!\d)){HOUSE_NUMBER}{NOT_COUNTED}")  # not a year: «москва летняя 2024»
# «по адресу Кирова 3», «на адрес Гагарина 12-5»: a street named in the genitive, known as one by the word before it
_AFTER_CUE = re.compile(rf"(?<![А-ЯЁа-яё])(?i:адрес[уаеом]*)(?:\s?[:\-–])?\s(?:(?i:на|по)\s)?"
                        rf"(?P<street>{RU_UP}(?:\s{RU_UP})?,?\s(?:(?i:д|дом)\.?\s?)?{HOUSE_NUMBER}{NOT_COUNTED})")
_FLAT = re.compile(r",?\s(?i:кв|квартира)\.?\s?\d")
_CYR_START = re.compile(r"(?<![А-ЯЁа-яё\-])[А-ЯЁа-яё]")
_BEFORE_FLAT = re.compile(rf"{RU_STREET}\s(?:(?i:д|дом)\.?\s?)?{HOUSE_NUMBER}\Z")  # in the 48 characters before a flat
_BEFORE_KV = re.compile(r"(?<![^\W\d_])[A-Za-z][a-z]+(?:sky|skiy|skaya|skoy|aya|iy|oy|ina|ova|eva|ogo)\s"
                        r"(?:d\.?\s?|dom\s)?\d{1,4}[a-z]?(?:[/\-]\d{1,4})?(?=,?\s(?i:kv\.?|kvartira|apt\.?|apartment|flat)\s?\d)")


_Part = tuple[int, int, str]  # start, end, kind


def _chat_parts(text: str, cyrillic: bool, latin: bool) -> tuple[list[_Part], list[_Part]]:
    """(streets, cities) of chat addresses written without a street type."""
    streets: list[_Part] = []
    cities: list[_Part] = []
    lowered = text.lower()
    if cyrillic:
        for m in _CYR_WORD.finditer(lowered if len(lowered) == len(text) else text):
            word = m.group().lower()
            if word not in RU_CITY_WORDS:
                continue
            end = m.end()
            if word == "нижний":
                novgorod = _NOVGOROD.match(text, end)
                if not novgorod:
                    continue
                end = novgorod.end()
            cities.append((m.start(), end, "place"))
            after = _AFTER_CITY.match(text, end)
            if after:
                mark = _CITY_MARK.search(text, max(0, m.start() - 7), m.start())
                streets.append((mark.start() if mark else m.start(), after.end(), "street"))
        if "адрес" in lowered:
            streets.extend((m.start("street"), m.end("street"), "street") for m in _AFTER_CUE.finditer(text))
        if "кв" in lowered:
            for flat in _FLAT.finditer(text):  # tried at the word starts before it only: a search cost 10 us a flat
                end = flat.start()
                before = next((b for w in _CYR_START.finditer(text, max(0, end - 48), end)
                               if (b := _BEFORE_FLAT.match(text, w.start(), end))), None)
                if before:
                    streets.append((before.start(), before.end(), "street"))
    if latin and ("kv" in lowered or "apt" in lowered or "flat" in lowered or "apartment" in lowered):
        streets.extend((m.start(), m.end(), "street") for m in _BEFORE_KV.finditer(text))
    return streets, cities


_CAPS_WORD = re.compile(r"(?<![^\W\d_])[A-ZÀ-ÝА-ЯЁ][A-ZÀ-ÝА-ЯЁ'’]{2,}(?![^\W_])")
_HAS_CYRILLIC = re.compile(r"[\u0400-\u04FF]")
_HAS_LATIN = re.compile(r"[A-Za-zÀ-ÿ]")
# " - " first: " " alone would stop the chain; a preposition joins a street, unit or place only («г. Омске на ул.
# Ленина», «кв. 12 в доме 5 по улице Лесной»)
_GAP = re.compile(r"[ \t]+[–—/-][ \t]+|[ \t]*,?[ \t]*(?:\n[ \t]*)?(?P<prep>(?:в|на|по)[ \t]+)?")
_LOWER_PLACE = re.compile(rf"(?<![\w.])[а-яё]{{4,}}(?=\s(?i:{RU_TYPE})\.?\s)")


_PRODUCT = (r"(?i:candles?|mugs?|totes?|wallets?|hoodies?|posters?|prints?|sets?|box(?:es)?|bags?|(?:t-)?shirts?|tees?|"
            r"cards?|stickers?|editions?|collection|kits?|packs?|bundles?|magnets?|puzzles?|figurines?|lamps?|caps?)")
_PRODUCT_AFTER = re.compile(rf"[ \t]+{_PRODUCT}(?![\w])")
_PRODUCT_LAST = re.compile(rf"(?<![\w]){_PRODUCT}(?:,?\s\d{{1,4}})?\Z")


def _is_product(text: str, start: int, end: int) -> bool:
    return bool(_PRODUCT_AFTER.match(text, end) or _PRODUCT_LAST.search(text[start:end]))


class StreetAddressRecognizer(LocalRecognizer):
    def __init__(self, supported_language: str) -> None:
        super().__init__(supported_entities=["STREET_ADDRESS"], supported_language=supported_language,
                         name=f"StreetAddress_{supported_language}")

    def load(self) -> None:
        return None

    def analyze(self, text: str, entities: list[str], nlp_artifacts: object = None) -> list[RecognizerResult]:
        if "STREET_ADDRESS" not in entities:
            return []
        return [found(self, "STREET_ADDRESS", s, e, 0.75) for s, e in find_addresses(text)]


def find_addresses(text: str) -> list[tuple[int, int]]:
    """(start, end) of every address in `text`, also where it is written in capitals ("12 HIGH STREET, OXFORD")."""
    if not any(c.isdigit() for c in text):
        return []
    spans = _find(text)
    if _CAPS_WORD.search(text):  # the same text with capitalised words written as names (same length)
        spans = _merge(spans + _find(_CAPS_WORD.sub(lambda m: m.group().capitalize(), text)))
    return spans


def _merge(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    for s, e in sorted(spans):
        if out and s < out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], e))
        else:
            out.append((s, e))
    return out


def _find(text: str) -> list[tuple[int, int]]:
    found: list[tuple[int, int, str]] = []
    cyrillic, latin = bool(_HAS_CYRILLIC.search(text)), bool(_HAS_LATIN.search(text))
    usable = [(kind, rx) for kind, script, rx in COMPONENTS
              if not ((script == "cyrillic" and not cyrillic) or (script == "latin" and not latin))]
    chat = _chat_parts(text, cyrillic, latin)
    # Every address has a street or a unit: without one, the weak components (names, numbers) are not looked for.
    for strong in (True, False):
        for kind, rx in usable:
            if (kind in _STRONG) == strong:
                found.extend((m.start(), m.end(), kind) for m in rx.finditer(text) if m.end() > m.start())
        found.extend(chat[0] if strong else chat[1])
        if not found:
            return []
    found.extend((m.start(), m.end(), "place") for m in _LOWER_PLACE.finditer(text))
    # At each start, the longest component (the most specific kind on a tie); then walk the chains.
    rank = {"street": 0, "unit": 1, "place": 2, "name": 3, "number": 4}
    best: dict[int, tuple[int, str]] = {}
    for s, e, kind in found:
        cur = best.get(s)
        if cur is None or e > cur[0] or (e == cur[0] and rank[kind] < rank[cur[1]]):
            best[s] = (e, kind)
    out: list[tuple[int, int]] = []
    pos = 0
    for start in sorted(best):
        if start < pos:
            continue
        chain = [(start, *best[start])]
        while True:
            end = chain[-1][1]
            gap = _GAP.match(text, end)
            nxt = gap.end() if gap else end
            if nxt == end and end < len(text) and text[end].isalnum():
                break
            if nxt not in best or (gap and gap.group("prep") and not (
                    best[nxt][1] in _JOINED and chain[-1][2] in _JOINED)):
                break
            chain.append((nxt, *best[nxt]))
        span = _accept(text, chain)
        if span:
            out.append(span)
            pos = span[1]
    return out


def _accept(text: str, chain: list[tuple[int, int, str]]) -> tuple[int, int] | None:
    """The part of a component chain that is an address, if any."""
    kinds = [k for _, _, k in chain]
    strong = [i for i, k in enumerate(kinds) if k in ("street", "unit")]
    if not strong:
        return None
    first, last = strong[0], strong[-1]
    # Weak components (names, bare numbers) only count next to the address proper; a trailing name is a city
    # only when something follows it (postcode) or it closes the address.
    while first > 0 and kinds[first - 1] in ("place", "name", "unit"):
        first -= 1
    if (first >= 2 and kinds[first - 1] == "number" and kinds[first - 2] == "name" and kinds[first] == "unit"
            and _HAS_CYRILLIC.search(text[chain[first][0]:chain[first][1]])):
        first -= 2
        while first > 0 and kinds[first - 1] in ("place", "name", "unit"):
            first -= 1
    end = last
    for i in range(last + 1, len(chain)):
        # a name next to the address proper, or a city before its postcode ("..., Quay Street, Galway H91 E2K6")
        if kinds[i] in ("unit", "place", "number") or (kinds[i] == "name" and (
                i <= last + 2 or (i + 1 < len(chain) and kinds[i + 1] in ("unit", "place")))):
            end = i
        else:
            break
    while end > last and kinds[end] == "number" and kinds[end - 1] not in ("street", "name"):
        end -= 1
    if set(kinds[first:end + 1]) <= {"street", "number"} and _is_product(text, chain[first][0], chain[end][1]):
        return None  # "3 Ocean Drive candles", "2 x Park Avenue Tote": a product named after a street
    if end == first:  # a street alone is an address only with its house number ("ул. Советская 14-22")
        s, e, _ = chain[first]
        return (s, e) if kinds[first] == "street" and any(c.isdigit() for c in text[s:e]) else None
    taken = kinds[first:end + 1]
    if "street" not in taken and "place" not in taken and taken.count("unit") == 1:
        unit = next(text[s:e] for s, e, k in chain[first:end + 1] if k == "unit")
        if not _HAS_CYRILLIC.search(unit):  # "See unit 3", "Block B of the form": a word and a unit are no address
            return None
    return chain[first][0], chain[end][1]
