"""Regenerate english_words.txt: common English words that are no listed given name or surname.

Run from the repository root after `make_first_names` and `make_last_names`, with `wordfreq` (3.1.1, not a project
dependency: a throwaway venv's site-packages on PYTHONPATH): `.venv/bin/python -m core.pii.data.make_english_words`.
The most frequent English words of 3+ letters (Zipf >= 3.3), less every given name (first_names.txt) and
surname (last_names.txt) the gazetteers list and every name Faker's person providers hold:
"Unfortunately", "Customer", "Success" are words; "Grace", "Nowak" are names.
"""

from __future__ import annotations

import re
from pathlib import Path

OUT = Path(__file__).with_name("english_words.txt")


def faker_names() -> set[str]:
    """Every name of Faker's person providers in lower case, of any length and romanization ("liu", "wei"), and
    Russian ones transliterated the usual English way too ("dmitriy" -> "dmitry")."""
    import importlib
    import pkgutil

    import faker.providers.person as person

    from core.pii.data.make_first_names import _RU, _UK, _translit

    out: set[str] = set()
    for module in pkgutil.iter_modules(person.__path__):
        provider = importlib.import_module(f"{person.__name__}.{module.name}").Provider
        for attr, values in vars(provider).items():
            if "name" not in attr or not isinstance(values, (list, tuple, dict)):
                continue
            for v in values:
                if isinstance(v, str):
                    out.add(v.lower())
                    if module.name in ("ru_RU", "uk_UA"):
                        t = _translit(v, _RU if module.name == "ru_RU" else _UK).lower()
                        out |= {t, t.replace("iy", "y"), t.replace("iy", "i")}
    return out


def collect() -> set[str]:
    from wordfreq import top_n_list, zipf_frequency

    from core.pii.first_names import first_names
    from core.pii.names_surnames import last_names

    names = {n.lower() for n in first_names() | last_names()} | faker_names()
    return {w for w in top_n_list("en", 25000) if re.fullmatch(r"[a-z]{3,}", w) and w not in names
            and zipf_frequency(w, "en") >= 3.3}


if __name__ == "__main__":
    words = sorted(collect())
    OUT.write_text("\n".join(words) + "\n", encoding="utf-8")
    print(f"{len(words)} words -> {OUT}")
