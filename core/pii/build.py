"""Build the PII stage: one shared analyzer (loaded in a worker thread), the vault, per-bot options."""

from __future__ import annotations

import asyncio
import threading

import redis.asyncio as aioredis
import structlog
from presidio_analyzer import AnalyzerEngine

from core.pii.analyzer import build_analyzer
from core.pii.masker import Masker
from core.pii.settings import PiiSettings
from core.pii.vault import Vault

log = structlog.get_logger("deskmate.pii")

# One analyzer per process and configuration: loading spaCy + recognizers takes seconds, and every runtime
# opened in the same process (tests, benchmarks, several bots) would otherwise load its own copy.
_ANALYZERS: dict[tuple[object, ...], AnalyzerEngine] = {}
_ANALYZERS_LOCK = threading.Lock()


def shared_analyzer(settings: PiiSettings) -> AnalyzerEngine:
    """The process-wide analyzer for these settings (models per language, phone regions); built once."""
    cache_key = (tuple(sorted(settings.models().items())), tuple(settings.phone_regions))
    with _ANALYZERS_LOCK:
        analyzer = _ANALYZERS.get(cache_key)
        if analyzer is None:
            analyzer = _ANALYZERS[cache_key] = build_analyzer(settings)
    return analyzer


async def build_masker(settings: PiiSettings, key: bytes, redis: aioredis.Redis) -> Masker:
    """The analyzer (loaded off the event loop) and the vault (the deployment's key) the PII stage masks with."""
    analyzer = await asyncio.to_thread(shared_analyzer, settings)
    log.info("pii_ready", languages=",".join(analyzer.supported_languages), ner=settings.spacy_model or "none")
    return Masker(analyzer, Vault(redis, key, settings.ttl_s))
