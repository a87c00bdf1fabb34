"""Analyse (Presidio analyzer) and replace (Presidio anonymizer) PII with the conversation's placeholders."""

from __future__ import annotations

import asyncio
import re
from collections import Counter
from dataclasses import dataclass

import structlog
from presidio_analyzer import AnalyzerEngine, RecognizerResult
from presidio_anonymizer import AnonymizerEngine
from presidio_anonymizer.entities import OperatorConfig

from core.errors import PolicyBlocked
from core.pii.analyzer import pick_language
from core.pii.first_names import is_given_name
from core.pii.normalize import analysis_text, map_back
from core.pii.options import BotPiiOptions
from core.pii.places import drop_places
from core.pii.vault import PLACEHOLDER, Mapping, Vault, label

log = structlog.get_logger("deskmate.pii")


@dataclass
class Masked:
    text: str
    mapping: Mapping
    counts: Counter[str]  # placeholder label -> occurrences masked
    language: str


def mask_known(text: str, mapping: Mapping, counts: Counter[str]) -> str:
    """Values this conversation already masked stay masked wherever they reappear as whole words.

    The analyzer may not recognise a value again without the words that found it the first time (a SNILS or
    passport number needs "СНИЛС"/"паспорт" nearby; a tool result or a repeated message may lack them).
    """
    known = {value: ph for ph, value in mapping.values.items() if value.strip()}
    if not known:
        return text
    alternatives = "|".join(re.escape(v) for v in sorted(known, key=len, reverse=True))

    def placeholder(match: re.Match[str]) -> str:
        ph = known[match.group(0)]
        counts[ph[1:].rsplit("_", 1)[0]] += 1
        return ph

    return re.sub(rf"(?<!\w)(?:{alternatives})(?!\w)", placeholder, text)


def outermost(results: list[RecognizerResult]) -> list[RecognizerResult]:
    """Drop results inside a longer one of another type (a surname in «ул. Ленина», a phone inside a key):
    the outer value is masked whole, under one placeholder."""
    kept: list[RecognizerResult] = []
    for r in sorted(results, key=lambda r: (r.start - r.end, -r.score)):
        if not any(k.start <= r.start and r.end <= k.end for k in kept):
            kept.append(r)
    return sorted(kept, key=lambda r: r.start)


class Masker:
    def __init__(self, analyzer: AnalyzerEngine, vault: Vault) -> None:
        self.analyzer = analyzer
        self.vault = vault
        self.anonymizer = AnonymizerEngine()
        self.languages = tuple(analyzer.supported_languages)
        # Entities each language can find (PERSON only where a NER model is installed).
        self.supported = {lang: set(analyzer.get_supported_entities(lang)) for lang in self.languages}

    def analyze_sync(self, text: str, options: BotPiiOptions) -> tuple[str, list[RecognizerResult]]:
        language = pick_language(text, options.languages or (), options.detect, self.languages)
        entities = [e for e in options.entities if e in self.supported[language]]
        if not entities:
            return language, []
        clean, index = analysis_text(text)
        results = map_back(self.analyzer.analyze(
            clean, language, entities=entities, score_threshold=options.score_threshold,
            allow_list=list(options.allow_list) or None,
        ), index)
        placeholders = [m.span() for m in PLACEHOLDER.finditer(text)] if "<" in text else []
        if placeholders:  # text masked before (a stored reply checked again): its placeholders stay as they are
            results = [r for r in results if not any(s < r.end and r.start < e for s, e in placeholders)]
        return language, outermost(drop_places(text, results, is_given_name))

    async def analyze(self, text: str, options: BotPiiOptions) -> tuple[str, list[RecognizerResult]]:
        """Run the analyzer in a worker thread (NER takes ~10 ms: too long to block the event loop).

        Any failure is fail-closed: PolicyBlocked("pii_failed"), logged with the error type only.
        """
        try:
            return await asyncio.to_thread(self.analyze_sync, text, options)
        except Exception as exc:
            log.error("pii_analyzer_failed", error=type(exc).__name__)
            raise PolicyBlocked("pii_failed") from None

    async def mask(self, conversation: str, text: str, options: BotPiiOptions) -> Masked:
        """Replace every detected entity by its placeholder, stable within the conversation."""
        language, results = await self.analyze(text, options)
        counts: Counter[str] = Counter()

        def apply(mapping: Mapping) -> str:
            counts.clear()
            if not results:
                return mask_known(text, mapping, counts)
            operators = {
                r.entity_type: OperatorConfig(
                    "custom", {"lambda": lambda value, t=r.entity_type: self.vault.placeholder(mapping, t, value)}
                )
                for r in results
            }
            engine_result = self.anonymizer.anonymize(text=text, analyzer_results=results, operators=operators)
            counts.update(label(item.entity_type) for item in engine_result.items)
            return mask_known(engine_result.text, mapping, counts)

        try:
            mapping, masked = await self.vault.assign(conversation, apply)
        except PolicyBlocked:
            raise
        except Exception as exc:  # Redis down, anonymizer bug...: nothing goes out unmasked
            log.error("pii_vault_failed", error=type(exc).__name__)
            raise PolicyBlocked("pii_failed") from None
        return Masked(text=masked, mapping=mapping, counts=counts, language=language)
