"""Build the PII stage: one shared analyzer (loaded in a worker thread), the vault, per-bot options."""

from __future__ import annotations

import asyncio
import pathlib
import threading
from collections.abc import Mapping

import redis.asyncio as aioredis
import structlog
from presidio_analyzer import AnalyzerEngine

from core.pii.analyzer import build_analyzer
from core.pii.masker import Masker
from core.pii.settings import PiiSettings
from core.pii.stage import PiiStage
from core.pii.vault import Vault, load_or_create_key
from core.profile import BotProfile

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


async def build_pii_stage(
    settings: PiiSettings, data_dir: pathlib.Path, redis: aioredis.Redis, profiles: Mapping[str, BotProfile]
) -> PiiStage:
    key = load_or_create_key(settings.vault_key.get_secret_value() if settings.vault_key else None, data_dir)
    analyzer = await asyncio.to_thread(shared_analyzer, settings)
    log.info("pii_ready", languages=",".join(analyzer.supported_languages), ner=settings.spacy_model or "none")
    masker = Masker(analyzer, Vault(redis, key, settings.ttl_s))
    return PiiStage(masker, profiles, locked=settings.locked)
