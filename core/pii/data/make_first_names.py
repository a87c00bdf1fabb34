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
    return names


if __name__ == "__main__":
    names = sorted(collect())
    OUT.write_text("\n".join(names) + "\n", encoding="utf-8")
    print(f"{len(names)} names -> {OUT}")
