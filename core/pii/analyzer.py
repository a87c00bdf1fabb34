"""The one shared Presidio AnalyzerEngine: offline spaCy pipelines + our recognizers, per language."""

from __future__ import annotations

import re
from typing import Any

import spacy
from presidio_analyzer import AnalyzerEngine, EntityRecognizer, RecognizerRegistry, RecognizerResult
from presidio_analyzer.context_aware_enhancers import LemmaContextAwareEnhancer
from presidio_analyzer.nlp_engine import NlpArtifacts
from spacy.language import Language
from thinc.api import use_ops
from threadpoolctl import threadpool_limits

from core.errors import ConfigError
from core.pii.names_latin import CueNameRecognizer, FilteredSpacyRecognizer, LatinRunsRecognizer
from core.pii.names_ru import NatashaPersonRecognizer
from core.pii.names_shapes import NameShapesRecognizer
from core.pii.names_surnames import SurnameRecognizer
from core.pii.nlp_engine import WindowedSpacyNlpEngine
from core.pii.recognizers import pattern_recognizers
from core.pii.settings import PiiSettings


def load_pipeline(lang: str, model: str) -> Language:
    """An installed spaCy package trimmed to what NER needs, or a blank tokenizer when `model` is "".

    Never downloads: a model that is not installed is a configuration error. The models' matrix products
    run on numpy (OpenBLAS), not on thinc's default blis: the blis wheel picks its generic kernels on CPUs it
    does not recognise (this AMD EPYC VM: 5x slower gemm), which made NER ~10 ms instead of ~7 ms for a
    500-character message; numpy is as fast where blis is not generic.
    """
    if not model:
        return spacy.blank(lang)
    if not spacy.util.is_package(model):
        raise ConfigError(f"DESKMATE_PII__SPACY_MODEL(S): spaCy model {model!r} for {lang!r} is not installed")
    with use_ops("numpy", use_blis=False):
        nlp = spacy.load(model)
    if "ner" not in nlp.pipe_names:
        raise ConfigError(f"spaCy model {model!r} has no `ner` component")
    listeners = set(nlp.get_pipe("tok2vec").listening_components) if "tok2vec" in nlp.pipe_names else set()
    keep = {"ner", "transformer"} | ({"tok2vec"} if "ner" in listeners else set())
    for name in list(nlp.pipe_names):
        if name not in keep:
            nlp.remove_pipe(name)
    return nlp


class ContextOnlyEnhancer(LemmaContextAwareEnhancer):
    """Presidio's lemma context enhancer, given only the results it can change.

    The stock enhancer deep-copies every result (with its explanation) before looking at it, also the results of
    recognizers without context words (names, addresses, keys, e-mails): ~0.5 ms a message with a dozen results.
    Here only results of recognizers that have context words (phones, cards, passport, INN, SNILS) go through
    it; the others are returned as they are, in the same order.
    """

    def enhance_using_context(self, text: str, raw_results: list[RecognizerResult], nlp_artifacts: NlpArtifacts,
                              recognizers: list[EntityRecognizer],
                              context: list[str] | None = None) -> list[RecognizerResult]:
        with_context = {r.id for r in recognizers if r.context}
        chosen = [i for i, r in enumerate(raw_results)
                  if r.recognition_metadata.get(RecognizerResult.RECOGNIZER_IDENTIFIER_KEY) in with_context]
        if not chosen:
            return list(raw_results)
        enhanced = super().enhance_using_context(text, [raw_results[i] for i in chosen], nlp_artifacts,
                                                 recognizers, context)
        out = list(raw_results)
        for i, result in zip(chosen, enhanced, strict=True):
            out[i] = result
        return out


def build_analyzer(settings: PiiSettings) -> AnalyzerEngine:
    """Load pipelines and recognizers for every configured language (slow: seconds; run it in a thread).

    Names: the language's spaCy model where one is installed, natasha for Cyrillic names (in every language:
    a Russian name in an English message), cue words for Latin-script names, and the English model on the
    Latin-script runs of a message analysed in a language without a model of its own.
    """
    models = settings.models()
    pipelines = {lang: load_pipeline(lang, model) for lang, model in models.items()}
    english = pipelines.get("en") if models.get("en") else None
    registry = RecognizerRegistry(supported_languages=list(pipelines))
    for lang, model in models.items():
        for recognizer in pattern_recognizers(lang, settings.phone_regions):
            registry.add_recognizer(recognizer)
        registry.add_recognizer(CueNameRecognizer(lang))
        registry.add_recognizer(NameShapesRecognizer(lang))
        registry.add_recognizer(SurnameRecognizer(lang))
        if settings.russian_ner:
            registry.add_recognizer(NatashaPersonRecognizer(lang))
        if model:
            registry.add_recognizer(FilteredSpacyRecognizer(supported_language=lang, supported_entities=["PERSON"]))
        elif english is not None:
            registry.add_recognizer(LatinRunsRecognizer(lang, english))
    analyzer = AnalyzerEngine(registry=registry, nlp_engine=WindowedSpacyNlpEngine(pipelines),
                              supported_languages=list(pipelines), context_aware_enhancer=ContextOnlyEnhancer())
    # NER is a chain of small matrix products: on one BLAS thread they take ~0.5 ms, on two threads of a busy
    # 2-core machine ~10 ms (the threads wait for each other). Messages run in parallel threads instead.
    threadpool_limits(limits=1, user_api="blas")
    return analyzer


_CYRILLIC = re.compile(r"[\u0400-\u04FF]")
_LETTER = re.compile(r"[^\W\d_]")


def pick_language(text: str, languages: tuple[str, ...], detect: str, available: Any) -> str:
    """The analysis language for one message, among the bot's languages the analyzer supports.

    "script": text whose letters are mostly Cyrillic is Russian, anything else is the first other language.
    """
    usable = [lang for lang in languages if lang in available] or [next(iter(available))]
    if detect == "fixed" or len(usable) == 1:
        return usable[0]
    letters = len(_LETTER.findall(text))
    cyrillic = len(_CYRILLIC.findall(text))
    if "ru" in usable and letters and cyrillic / letters >= 0.5:
        return "ru"
    return next((lang for lang in usable if lang != "ru"), usable[0])
