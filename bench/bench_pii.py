"""PII masking: detection quality (held-out + Faker corpora) and latency.

Run: `python -m bench.bench_pii` (or `python bench/bench_pii.py`). Options: `--quality` / `--latency` to run
one part only; `--heldout PATH` for another corpus in the held-out format.

Quality: recall and precision per type and language.
- Held-out corpus: bench/data/heldout/pii/messages.jsonl, 421 chat messages written by a session that never
  read core/pii/ (see its README). A labelled value counts as found when the masked spans cover every
  character of every occurrence of it. A masked span is correct when it overlaps a labelled value (of any
  type: a value masked under another label is still not sent in clear); precision per type is over the spans
  our recognizers gave that type. Decoys (strings that must stay) are counted separately.
- Faker en_US + ru_RU corpus: the generated corpus of tests/test_pii_corpus.py, scored the same way.
Latency: the synchronous work the stage sends to a worker thread (analyzer + anonymizer), not Redis, for
100/500/2,000-character messages, with the analyzer built for both languages (en spaCy + ru natasha).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from presidio_anonymizer import AnonymizerEngine
from presidio_anonymizer.entities import OperatorConfig

from core.pii.analyzer import build_analyzer
from core.pii.masker import Masker
from core.pii.options import BotPiiOptions
from core.pii.settings import PiiSettings

HELDOUT = Path(__file__).resolve().parent / "data" / "heldout" / "pii" / "messages.jsonl"
# Our entity names -> the held-out corpus's type names.
TYPES = {
    "PERSON": "PERSON", "EMAIL_ADDRESS": "EMAIL", "PHONE_NUMBER": "PHONE", "CREDIT_CARD": "CARD",
    "IBAN_CODE": "IBAN", "STREET_ADDRESS": "ADDRESS", "API_KEY": "SECRET", "URL_CREDENTIALS": "SECRET",
    "RU_PASSPORT": "PASSPORT_RU", "RU_SNILS": "SNILS", "RU_INN": "INN", "IP_ADDRESS": "IP_ADDRESS",
    "DATE_OF_BIRTH": "DATE_OF_BIRTH",
}
EN = ("Hi, this is Olivia Brown from Contoso. My order 48213 still hasn't shipped; please email me at "
      "olivia.brown@contoso-mail.com or call (415) 555-0134. The invoice of $129.99 was charged to my card "
      "4111 1111 1111 1111 on March 3rd, and support told me to wait a week, which I did. ")
RU = ("Здравствуйте, меня зовут Ольга Вишнякова. Заказ 48213 до сих пор не пришёл; напишите на "
      "olga.v@example.ru или позвоните +7 912 345-67-89. Оплата 12 990 руб. прошла с карты 2202 0263 9623 2271. ")
RUNS = int(os.environ.get("BENCH_RUNS", "200"))


def occurrences(text: str, value: str) -> list[tuple[int, int]]:
    out, start = [], text.find(value)
    while start >= 0:
        out.append((start, start + len(value)))
        start = text.find(value, start + 1)
    return out


class Score:
    """Recall per (type, language); precision per (type, language) over the spans we masked."""

    def __init__(self) -> None:
        self.found: dict[tuple[str, str], list[bool]] = defaultdict(list)
        self.spans: dict[tuple[str, str], list[bool]] = defaultdict(list)
        self.decoys = [0, 0]  # masked (any overlap), total
        self.misses: list[tuple[str, str, str]] = []
        self.false: list[tuple[str, str, str]] = []

    def add(self, lang: str, text: str, truth: list[tuple[str, int, int]], spans: list[tuple[str, int, int]],
            decoys: list[str] = ()) -> None:  # type: ignore[assignment]
        covered: set[int] = set()
        for _, s, e in spans:
            covered.update(range(s, e))
        for etype, s, e in truth:
            ok = all(i in covered for i in range(s, e))
            self.found[(etype, lang)].append(ok)
            if not ok:
                self.misses.append((etype, lang, text[s:e]))
        for etype, s, e in spans:
            ok = any(s < te and ts < e for _, ts, te in truth)
            self.spans[(etype, lang)].append(ok)
            if not ok:
                self.false.append((etype, lang, text[s:e]))
        for decoy in decoys:
            for ds, de in occurrences(text, decoy):
                self.decoys[1] += 1
                self.decoys[0] += any(s < de and ds < e for _, s, e in spans)

    def report(self, title: str, verbose: bool) -> None:
        print(f"\n== {title}")
        langs = sorted({lang for _, lang in self.found} | {lang for _, lang in self.spans})
        types = sorted({t for t, _ in self.found} | {t for t, _ in self.spans})
        print(f"{'type':<15}" + "".join(f"{lang + ' recall':>16}{lang + ' prec':>14}" for lang in langs))
        for t in types:
            row = f"{t:<15}"
            for lang in langs:
                f, p = self.found.get((t, lang), []), self.spans.get((t, lang), [])
                row += f"{_ratio(f):>16}{_ratio(p):>14}"
            print(row)
        all_f = [x for v in self.found.values() for x in v]
        all_p = [x for v in self.spans.values() for x in v]
        print(f"{'ALL':<15}recall {_ratio(all_f)}  precision {_ratio(all_p)}"
              + (f"  decoys masked {self.decoys[0]}/{self.decoys[1]}" if self.decoys[1] else ""))
        if verbose:
            for etype, lang, value in self.misses:
                print(f"  miss  {etype:<13}{lang:<6}{value!r}")
            for etype, lang, value in self.false:
                print(f"  false {etype:<13}{lang:<6}{value!r}")


def _ratio(values: list[bool]) -> str:
    return f"{sum(values) / len(values):.3f} ({sum(values)}/{len(values)})" if values else "-"


def our_spans(masker: Masker, text: str, options: BotPiiOptions) -> list[tuple[str, int, int]]:
    _, results = masker.analyze_sync(text, options)
    return [(TYPES.get(r.entity_type, r.entity_type), r.start, r.end) for r in results]


def heldout(masker: Masker, options: BotPiiOptions, path: Path) -> Score:
    score = Score()
    for line in path.read_text(encoding="utf-8").splitlines():
        m = json.loads(line)
        truth = [(e["type"], s, end) for e in m["entities"] for s, end in occurrences(m["text"], e["value"])]
        score.add(m["lang"], m["text"], truth, our_spans(masker, m["text"], options), m.get("decoys", []))
    return score


def faker(masker: Masker, options: BotPiiOptions) -> Score:
    from tests.test_pii_corpus import corpus

    score = Score()
    for locale, text, truth in corpus():
        score.add(locale, text, [(TYPES.get(t, t), s, e) for t, s, e in truth], our_spans(masker, text, options))
    return score


def message(base: str, size: int) -> str:
    return (base * (size // len(base) + 1))[:size]


def measure(masker: Masker, text: str, options: BotPiiOptions) -> tuple[list[float], list[float]]:
    """Wall-clock and CPU (this thread's) milliseconds per message: on a shared, loaded machine the wall
    clock includes waiting for a core; the CPU time is what the masking itself costs."""
    anonymizer = AnonymizerEngine()
    op = {"DEFAULT": OperatorConfig("replace", {"new_value": "<X_1>"})}
    wall, cpu = [], []
    for i in range(RUNS + 10):
        t0, c0 = time.perf_counter(), time.thread_time()
        _, results = masker.analyze_sync(text, options)
        anonymizer.anonymize(text=text, analyzer_results=results, operators=op)
        if i >= 10:  # warm-up
            wall.append((time.perf_counter() - t0) * 1000)
            cpu.append((time.thread_time() - c0) * 1000)
    return wall, cpu


def latency(masker: Masker, title: str) -> None:
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"\n== latency, {RUNS} runs each (ms): {title}; load average {load:.1f} on {os.cpu_count()} CPUs")
    print(f"{'lang':<6}{'chars':>6}{'wall p50':>10}{'wall p95':>10}{'cpu p50':>10}{'cpu p95':>10}")
    for lang, base in (("en", EN), ("ru", RU)):
        options = BotPiiOptions(languages=("en", "ru"))
        for size in (100, 500, 2000):
            wall, cpu = measure(masker, message(base, size), options)
            print(f"{lang:<6}{size:>6}" + "".join(f"{v:>10.2f}" for v in (
                statistics.median(wall), statistics.quantiles(wall, n=20)[18],
                statistics.median(cpu), statistics.quantiles(cpu, n=20)[18])))


def heldout_latency(masker: Masker, options: BotPiiOptions, path: Path) -> None:
    """Per-message cost on the held-out messages themselves (real lengths, mixed languages)."""
    texts = [json.loads(line)["text"] for line in path.read_text(encoding="utf-8").splitlines()]
    samples = []
    for text in texts * 2:
        t0 = time.perf_counter()
        masker.analyze_sync(text, options)
        samples.append((time.perf_counter() - t0) * 1000)
    samples = samples[len(texts):]
    mean_len = sum(map(len, texts)) / len(texts)
    print(f"held-out messages (mean {mean_len:.0f} chars): p50 {statistics.median(samples):.2f} ms, "
          f"p95 {statistics.quantiles(samples, n=20)[18]:.2f} ms")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quality", action="store_true")
    parser.add_argument("--latency", action="store_true")
    parser.add_argument("--verbose", "-v", action="store_true", help="list every miss and false positive")
    parser.add_argument("--heldout", type=Path, default=HELDOUT)
    args = parser.parse_args()
    both = not (args.quality or args.latency)
    settings = PiiSettings()
    masker = Masker(build_analyzer(settings), vault=None)  # type: ignore[arg-type]
    options = BotPiiOptions(languages=("en", "ru"))
    print("entities:", ", ".join(options.entities))
    if args.quality or both:
        heldout(masker, options, args.heldout).report(f"held-out corpus ({args.heldout.name})", args.verbose)
        faker(masker, options).report("Faker en_US + ru_RU corpus", args.verbose)
    if args.latency or both:
        latency(masker, "both languages (" + ", ".join(f"{k}={v or 'patterns'}" for k, v in settings.models().items())
                + (", ru names=natasha" if settings.russian_ner else "") + ")")
        heldout_latency(masker, options, args.heldout)


if __name__ == "__main__":
    main()
