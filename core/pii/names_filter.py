"""Words that look like a name to one of the PERSON recognizers and are none (applied to each recognizer's results).

- Month abbreviations next to a number ("12 Mar 2024", "Mar 3", "on Jun 1"): "Mar", "Jan" and "June" are given
  names too, so only the number beside them decides.
- Field labels of forms and tickets ("Addr:", "Address line 2", "Number: 5", "the Name field").
- Banks, payment brands and marketplaces ("Tinkoff", "Sber", "Alfa-Bank", «Альфа», «Тинькофф», «Яндекс Маркет»),
  Russian cities and their chat forms in any case («питер», «Питере», «москва»), Russian months («Май»).
- Words of the sentence around a foreign introduction ("Ich bin Katharina Vogel", «Konto»): the span loses them.

A span is dropped when every word in it is such a word; a multi-word span loses such words at its edges.
"""

from __future__ import annotations

import re

from presidio_analyzer import RecognizerResult

from core.pii.places import RU_CITY_WORDS

# City forms that are also surnames («Королёва», «Ростову»): kept as names.
_CITY_SURNAMES = frozenset(w for w in RU_CITY_WORDS if w.startswith(("королев", "королёв", "ростов", "саратов"))
                           and "-" not in w)
_CITIES = RU_CITY_WORDS - _CITY_SURNAMES

MONTH_ABBREVIATIONS = frozenset("jan feb mar apr jun jul aug sep sept oct nov dec".split())
_NUMBER_BESIDE = re.compile(r"[ \t]*[.,]?[ \t]*\d")
_NUMBER_BEFORE = re.compile(r"\d(?:st|nd|rd|th)?[ \t]*[.,-]?[ \t]*\Z")
LABELS = frozenset("""addr address addresses number numbers name names phone tel mobile email e-mail username
password status priority subject ticket order account amount total subtotal tax date time city zip postcode country
street state region reference ref id""".split())
BRANDS = frozenset("""tinkoff tinkov sber sberbank alfa alfa-bank alfabank vtb raiffeisen gazprombank otkritie
sovcombank rosbank pochta yandex ozon wildberries avito megafon beeline mts tele2 qiwi yoomoney
альфа альфа-банк альфабанк сбер сбербанк тинькофф тинькоф втб райффайзен газпромбанк открытие совкомбанк
росбанк почта яндекс маркет озон вайлдберриз авито мегафон билайн мтс теле2 киви юмани госуслуги""".split())
# Russian months and city short forms that a dictionary reads as a name («Май», «питер»).
RU_WORDS = frozenset("""май мае маем январь февраль март апрель июнь июль сентябрь октябрь ноябрь декабрь
питер питера питеру питере питером мск спб екб москва москвы москве москву москвой""".split())
# Words of a sentence in another language that the models take into a name next to them.
FOREIGN_WORDS = frozenset("""ich bin mein meine ist und der die das konto rechnung bestellung kundennummer
soy mi es mis cuenta pedido factura je suis mon ma compte commande ik ben mijn bestelling en""".split())
# Of those, given names and surnames too ("Ben Carter", "Priya Das", "Ma Long", "Ik ben Ben"): written with a
# capital they are dropped only at the start of a span when a word of that language follows ("Das Konto",
# "Ma commande").
FOREIGN_NAMES = frozenset({"ben", "das", "ma"})
# "I'm", "it's": capitalised after a greeting ("Hi, I'm Zhang Wei") they look like the first word of a name.
CONTRACTIONS = frozenset(w.replace("'", q) for w in """i'm it's that's here's he's she's we're you're they're i'll
i've i'd let's who's what's there's""".split() for q in "'’")


def _bare(word: str) -> str:
    return word.lower().strip(".,:;!?()«»\"'’").removesuffix("'s").removesuffix("’s")


def _foreign_name_kept(text: str, start: int, end: int, left: bool) -> bool:
    """A foreign word that is a name too ("Ben", "Das", "Ma"), capitalised, at this edge of a span: a name."""
    word = text[start:end]
    if _bare(word) not in FOREIGN_NAMES or not word[:1].isupper():
        return False
    nxt = re.match(r"[ \t]+(\S+)", text[end:end + 40])
    return not (left and nxt and _bare(nxt.group(1)) in FOREIGN_WORDS)


def _no_name(word: str) -> bool:
    low = _bare(word)
    return low in LABELS or low in BRANDS or low in RU_WORDS or low in FOREIGN_WORDS or low in _CITIES \
        or word.lower().strip(".,:;!?()«»\"") in CONTRACTIONS \
        or (low.split("-")[0] in BRANDS and "-" in low)


def name_span(text: str, start: int, end: int) -> tuple[int, int] | None:
    """The span without the words that are no name at its edges, or None when nothing of a name is left."""
    words = [(m.start() + start, m.end() + start) for m in re.finditer(r"\S+", text[start:end])]
    if len(words) == 1:
        low = _bare(text[start:end])
        if low in MONTH_ABBREVIATIONS and (_NUMBER_BESIDE.match(text, end)
                                           or _NUMBER_BEFORE.search(text[max(0, start - 6):start])):
            return None  # "12 Mar 2024", "Mar 3"
    while words and _no_name(text[words[0][0]:words[0][1]]) and not _foreign_name_kept(text, *words[0], left=True):
        words.pop(0)
    while words and _no_name(text[words[-1][0]:words[-1][1]]) \
            and not _foreign_name_kept(text, *words[-1], left=len(words) == 1):
        words.pop()
    if not words:
        return None
    return words[0][0], words[-1][1]


def keep_names(text: str, results: list[RecognizerResult]) -> list[RecognizerResult]:
    """`results` with each PERSON span trimmed of words that are no name, and dropped when none is left."""
    out = []
    for r in results:
        span = name_span(text, r.start, r.end) if r.entity_type == "PERSON" else (r.start, r.end)
        if span is None:
            continue
        r.start, r.end = span
        out.append(r)
    return out
