"""The one natasha MorphVocab (pymorphy2's Russian dictionary, ~50 MB) of the process, shared by the Latin-letter
Russian reader (core/translit.py) and the Russian name finder (core/pii/names_ru.py)."""

from __future__ import annotations

import threading
import warnings
from typing import Any

_lock = threading.Lock()
_vocab: Any = None


def morph_vocab() -> Any:
    """natasha's MorphVocab, loaded on first use (thread-safe: both users load theirs in start-up threads)."""
    global _vocab
    if _vocab is None:
        with _lock:
            if _vocab is None:
                with warnings.catch_warnings():  # pymorphy2 imports pkg_resources (setuptools<81 keeps it)
                    warnings.simplefilter("ignore")
                    from natasha import MorphVocab

                    _vocab = MorphVocab()
    return _vocab
