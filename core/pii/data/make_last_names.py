"""Regenerate last_names.txt from Faker's person providers (MIT; a dev dependency, not needed at run time).

Run from the repository root: `.venv/bin/python -m core.pii.data.make_last_names`, with `wordfreq` (3.1.1,
MIT/Apache; not a project dependency: install it into a throwaway venv and put its site-packages on PYTHONPATH).
Latin-script surnames of the non-English Faker locales (and en_IN), Japanese and Chinese romanized surnames (4+
letters) and Russian/Ukrainian surnames transliterated. The English-speaking locales' lists are left out: they are
full of words ("Street", "Park", "Hall", "More"); so are words of Faker's English lorem list, street types,
business words, places (core/pii/places.py) and the names core/pii/first_names.py calls common words, brands
or company tails, and every word wordfreq finds common in English (Zipf >= 3.4: "Pages", "Handler", "Mann";
also frequent surnames such as "Garcia", "Costa": with a listed given name first they are found anyway).
"""

from __future__ import annotations

import importlib
import pkgutil
import re
from pathlib import Path

from core.pii.data.make_first_names import _RU, _UK, _translit
from core.pii.names_latin import latin

OUT = Path(__file__).with_name("last_names.txt")
_LATIN = re.compile(latin(r"[A-ZÀ-Þ][a-zà-ÿ'’]+(?:-[A-ZÀ-Þ][a-zà-ÿ]+)?"))  # also "Wiśniewski", "Yılmaz"
_ENGLISH = {"en", "en_US", "en_GB", "en_IE", "en_NZ", "en_AU", "en_CA", "en_PH", "en_TH", "en_PK", "en_BD", "en_MS"}
# Words a capitalised run of two words often ends with in a support chat ("Customer Service", "Scrum Master").
_WORDS = set("""service services master masters success support team manager owner office center centre group user
users admin system store shop street road data cloud home page login account order price sale sales more main
north south east west central city town village station airport bank card cash credit debit gold silver
premium basic standard express direct global local national international digital mobile online network
solutions systems partner partners product products project projects plan plans pay payment payments
point points line lines client clients desk help helpdesk portal key keys lock door gate hill park lake river
field fields wood woods stone rock sand bay beach port castle tower bridge church court hall house palace
garden gardens farm mill market square cross king queen prince duke lord knight bishop major general
captain doctor nurse judge baker cook smith taylor fisher hunter carter walker turner miller
grand junior senior grande nord sud post said monte torre campo prado paz luz mar sol rio villa casa""".split())


def collect() -> set[str]:
    import faker.providers.person as person
    from faker.providers.lorem.en_US import Provider as Lorem
    from wordfreq import zipf_frequency

    from core.pii.first_names import COMMON_WORDS, NOT_PEOPLE, NOT_PEOPLE_TAILS, PLACE_PREFIXES
    from core.pii.places import PLACES

    names: set[str] = set()
    for module in pkgutil.iter_modules(person.__path__):
        if module.name in _ENGLISH:
            continue
        provider = importlib.import_module(f"{person.__name__}.{module.name}").Provider
        for attr in [a for a in vars(provider) if "last" in a and "romanized" not in a]:
            values = provider.__dict__.get(attr)
            if isinstance(values, dict):
                values = list(values)
            if isinstance(values, (list, tuple)):
                names |= {v for v in values if isinstance(v, str) and _LATIN.fullmatch(v) and len(v) >= 3}
    for module in ("ja_JP", "zh_CN", "zh_TW"):
        provider = importlib.import_module(f"{person.__name__}.{module}").Provider
        names |= {n for n in provider.last_romanized_names if len(n) >= 4 and _LATIN.fullmatch(n)}
    for module, table in (("ru_RU", _RU), ("uk_UA", _UK)):
        provider = importlib.import_module(f"{person.__name__}.{module}").Provider
        for attr in ("last_names", "last_names_male", "last_names_female"):
            values = provider.__dict__.get(attr) or ()
            if isinstance(values, dict):
                values = list(values)
            names |= {t for v in values if _LATIN.fullmatch(t := _translit(v, table)) and len(t) >= 4}
    banned = (set(Lorem.word_list) | _WORDS | COMMON_WORDS | NOT_PEOPLE | NOT_PEOPLE_TAILS | PLACE_PREFIXES
              | PLACES)
    return {n for n in names if n.lower() not in banned and zipf_frequency(n.lower(), "en") < 3.4}


if __name__ == "__main__":
    names = sorted(collect())
    OUT.write_text("\n".join(names) + "\n", encoding="utf-8")
    print(f"{len(names)} names -> {OUT}")
