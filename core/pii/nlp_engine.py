"""Presidio's NLP step for Deskmate: spaCy tokens for every message, spaCy NER only where a name can be.

NER is most of the masking cost (~20 ms CPU for a 500-character message on this VM, everything else ~6 ms).
A person's name in Latin script has a capitalised word in it, so `WindowedSpacyNlpEngine` runs the NER
component only on windows of `WINDOW` tokens either side of capitalised words that are not stop words,
greetings or our brand list and not in a run that starts with a listed given name (the given-name recognizer
masks that run); a message with none is tokenized only. The window is what the small model's CNN looks at
(4 tokens either side), so the candidate word's vector is the one it has in the whole text. NER costs ~70 us
per token it runs on (the parser's per-token steps use blis, whose generic kernels this CPU gets), so the
window is as narrow as that allows: 4 instead of 6 tokens (pii9) gave the same spans on the 851 texts of our
own sets, the Faker corpus and the bench messages, except one signature where the narrower window masks the
name without the "Team" of the next line. A word that cannot be in a name we keep (digits, Cyrillic, `@`, no
Latin letter: names_latin drops such spans) and sign-off words ("Kind regards") open no window.
When the windows cover most of the message, NER runs once on all of it.

It implements Presidio's public `NlpEngine` interface (tokens, lower-cased tokens as lemmas for the context
enhancer, PERSON entities) over pipelines loaded by `load_pipeline`, which never downloads a model.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator

from presidio_analyzer.nlp_engine import NlpArtifacts, NlpEngine
from spacy.lang.lex_attrs import is_punct
from spacy.language import Language
from spacy.tokens import Doc, Span

from core.pii.first_names import NOT_PEOPLE, is_given_name

WINDOW = 4  # tokens either side of a candidate word
FULL_SHARE = 0.7  # windows covering more of the message than this: one NER pass over all of it
# spaCy labels we turn into Presidio entities; everything else (DATE, ORG, GPE...) is ignored.
NER_MAPPING = {"PERSON": "PERSON", "PER": "PERSON"}
OPENERS = frozenset({"hi", "hello", "hey", "dear", "thanks", "thank", "please", "pls", "could", "can", "would",
                      "will", "ok", "okay", "yes", "no", "sorry", "also", "btw", "fyi", "just", "quick", "good",
                      "morning", "regards", "best", "cheers", "urgent", "update", "re", "fwd", "i'm", "i've",
                      "it's", "we're", "don't", "can't", "what's", "that's", "there's",
                      # sign-offs ("Kind regards", "Warm wishes", "Many thanks", "Sincerely")
                      "kind", "warm", "warmest", "many", "sincerely", "yours", "respectfully",
                      # months and days: never a name alone ("April Jones" has "Jones" for a candidate)
                      "january", "february", "march", "april", "may", "june", "july", "august", "september",
                      "october", "november", "december", "monday", "tuesday", "wednesday", "thursday", "friday",
                      "saturday", "sunday", "jan", "feb", "mar", "apr", "jun", "jul", "aug", "sep", "sept",
                      "oct", "nov", "dec", "mon", "tue", "wed", "thu", "fri", "sat", "sun"})


# A PERSON span holding one of these, or no Latin letter, is dropped by names_latin.FilteredSpacyRecognizer: a word
# with one ("T14", "Win11", "Иван", "@Anna", "Σοφία") cannot be part of a name we keep, so it opens no NER window.
_NEVER_IN_NAME = re.compile(r"[\u0400-\u04FF\d@/#_=+]")
_LATIN_LETTER = re.compile(r"[A-Za-zÀ-ÿ]")


def _candidate(token: object, stop: frozenset[str] | set[str]) -> bool:
    text: str = token.text  # type: ignore[attr-defined]
    if not text[:1].isupper() or _NEVER_IN_NAME.search(text) or not _LATIN_LETTER.search(text):
        return False
    low = text.lower()
    return low not in stop and low not in OPENERS and low not in NOT_PEOPLE


def name_windows(doc: Doc, stop: frozenset[str] | set[str]) -> list[tuple[int, int]]:
    """Merged token ranges [start, end) around the words that could be part of a name."""
    out: list[tuple[int, int]] = []
    covered = -1  # tokens up to here are a run of capitalised words that starts with a listed given name
    for i, token in enumerate(doc):
        if i <= covered or not _candidate(token, stop):
            continue
        if is_given_name(token.text):  # the given-name recognizer masks this run whole: no NER needed
            covered = i
            while covered + 1 < min(len(doc), i + 4) and doc[covered + 1].text[:1].isupper() \
                    and doc[covered + 1].is_alpha:
                covered += 1
            continue
        start, end = max(0, i - WINDOW), min(len(doc), i + WINDOW + 1)
        if out and start <= out[-1][1]:
            out[-1] = (out[-1][0], end)
        else:
            out.append((start, end))
    return out


class WindowedSpacyNlpEngine(NlpEngine):
    def __init__(self, pipelines: dict[str, Language]) -> None:
        self.nlp = dict(pipelines)
        self._stop = {lang: frozenset(nlp.Defaults.stop_words) for lang, nlp in self.nlp.items()}

    def load(self) -> None:  # pipelines are loaded by load_pipeline
        return None

    def is_loaded(self) -> bool:
        return True

    def get_supported_entities(self) -> list[str]:
        return sorted(set(NER_MAPPING.values()))

    def get_supported_languages(self) -> list[str]:
        return list(self.nlp)

    # Presidio asks both for every token of every message (NlpArtifacts.keywords). spaCy's own definitions of the
    # lexical attributes, without a vocabulary look-up (which also interned every new word of every message).
    def is_stopword(self, word: str, language: str) -> bool:
        return word.lower() in self._stop[language]

    def is_punct(self, word: str, language: str) -> bool:
        return is_punct(word)

    def process_batch(self, texts: Iterable[str], language: str, batch_size: int = 1, n_process: int = 1,
                      **kwargs: object) -> Iterator[tuple[str, NlpArtifacts]]:
        for text in texts:
            yield text, self.process_text(text, language)

    def process_text(self, text: str, language: str) -> NlpArtifacts:
        nlp = self.nlp[language]
        doc = nlp.make_doc(text)
        entities = [Span(doc, e.start, e.end, label=NER_MAPPING[e.label_])
                    for e in self._entities(nlp, doc, language) if e.label_ in NER_MAPPING]
        tokens = list(doc)
        return NlpArtifacts(
            entities=entities, tokens=tokens, tokens_indices=[t.idx for t in tokens],  # type: ignore[arg-type]
            lemmas=[t.lower_ for t in tokens], nlp_engine=self, language=language, scores=[0.85] * len(entities),
        )

    def _entities(self, nlp: Language, doc: Doc, language: str) -> list[Span]:
        if not nlp.pipe_names:  # a blank pipeline: tokens only
            return []
        windows = name_windows(doc, self._stop[language])
        if not windows:
            return []
        if sum(e - s for s, e in windows) > FULL_SHARE * len(doc):
            return list(_run(nlp, [doc])[0].ents)
        parts = _run(nlp, [doc[start:end].as_doc() for start, end in windows])
        return [Span(doc, start + e.start, start + e.end, label=e.label_)
                for (start, _), part in zip(windows, parts, strict=True) for e in part.ents]


def _run(nlp: Language, docs: list[Doc]) -> list[Doc]:
    """The pipeline's components on the docs as one batch (one model call per component, not per window)."""
    for _, component in nlp.pipeline:
        docs = list(component.pipe(docs, batch_size=len(docs))) if hasattr(component, "pipe") else \
            [component(d) for d in docs]
    return docs
