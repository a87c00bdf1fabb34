"""Regenerate first_names.txt from Faker's person providers (MIT; a dev dependency, not needed at run time).

Run from the repository root: `.venv/bin/python -m core.pii.data.make_first_names`.
Latin-script given names of every Faker locale, 3+ letters. Faker's generic `en` list (US birth records,
~7,000 names, with "Berlin", "London", "Ford", "Hilton") counts only for names another locale lists too.
Names that are also common English words ("Will", "May", "Grace") stay in the file; core/pii/first_names.py
treats them as names only before a surname.
"""

from __future__ import annotations

import importlib
import pkgutil
import re
from pathlib import Path

OUT = Path(__file__).with_name("first_names.txt")
_LATIN = re.compile(r"[A-ZÀ-Þ][a-zà-ÿ'’]+(?:-[A-ZÀ-Þ][a-zà-ÿ]+)?")


def collect() -> set[str]:
    import faker.providers.person as person

    names: set[str] = set()
    generic: set[str] = set()
    for module in pkgutil.iter_modules(person.__path__):
        provider = importlib.import_module(f"{person.__name__}.{module.name}").Provider
        for attr in ("first_names", "first_names_male", "first_names_female", "first_names_nonbinary"):
            values = provider.__dict__.get(attr)
            if isinstance(values, dict):
                values = list(values)
            if isinstance(values, (list, tuple)):
                found = {v for v in values if isinstance(v, str) and _LATIN.fullmatch(v) and len(v) >= 3}
                (generic if module.name == "en" else names).update(found)
    return names | romanized(person)


# Russian and Ukrainian given names as English text writes them ("Dmytro", "Oksana", "Svetlana").
_RU = dict(zip("абвгдезийклмнопрстуфхцчшщыэюяё", ["a", "b", "v", "g", "d", "e", "z", "i", "y", "k", "l", "m", "n", "o",
                                                 "p", "r", "s", "t", "u", "f", "kh", "ts", "ch", "sh", "shch", "y", "e",
                                                 "yu", "ya", "yo"], strict=True))
_UK = {**_RU, "г": "h", "ґ": "g", "и": "y", "і": "i", "ї": "yi", "є": "ye", "щ": "shch"}


def _translit(name: str, table: dict[str, str]) -> str:
    return "".join(table.get(c, "" if c in "ьъ'’" else c) for c in name.lower()).capitalize()


def romanized(person: object) -> set[str]:
    """Japanese and Chinese romanized given names (Faker's `first_romanized_names`; 4+ letters, 5+ for Chinese:
    "Li", "Yang", "Ping" are words or surnames too) and Cyrillic given names transliterated (4+ letters: "Mir",
    "Les" are a card and an article)."""
    out: set[str] = set()
    for module, least in (("ja_JP", 4), ("zh_CN", 5), ("zh_TW", 5)):
        provider = importlib.import_module(f"{person.__name__}.{module}").Provider  # type: ignore[attr-defined]
        out |= {n for n in provider.first_romanized_names if len(n) >= least and _LATIN.fullmatch(n)}
    for module, table in (("ru_RU", _RU), ("uk_UA", _UK)):  # not bg_BG: its list holds words ("Agent")
        provider = importlib.import_module(f"{person.__name__}.{module}").Provider  # type: ignore[attr-defined]
        for attr in ("first_names", "first_names_male", "first_names_female"):
            values = provider.__dict__.get(attr) or ()
            out |= {t for v in values if _LATIN.fullmatch(t := _translit(v, table)) and len(t) >= 4}
    return out - {"Modest", "Spartak", "Platon"}  # words, a football club


if __name__ == "__main__":
    names = sorted(collect())
    OUT.write_text("\n".join(names) + "\n", encoding="utf-8")
    print(f"{len(names)} names -> {OUT}")
