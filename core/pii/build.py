"""Build the PII stage: one shared analyzer (loaded in a worker thread), the vault, per-bot options."""

from __future__ import annotations

import asyncio
import pathlib
from collections.abc import Mapping

import redis.asyncio as aioredis
import structlog

from core.pii.analyzer import build_analyzer
from core.pii.masker import Masker
from core.pii.settings import PiiSettings
from core.pii.stage import PiiStage
from core.pii.vault import Vault, load_or_create_key
from core.profile import BotProfile

log = structlog.get_logger("deskmate.pii")


async def build_pii_stage(
    settings: PiiSettings, data_dir: pathlib.Path, redis: aioredis.Redis, profiles: Mapping[str, BotProfile]
) -> PiiStage:
    key = load_or_create_key(settings.vault_key.get_secret_value() if settings.vault_key else None, data_dir)
    analyzer = await asyncio.to_thread(build_analyzer, settings)
    log.info("pii_ready", languages=",".join(analyzer.supported_languages), ner=settings.spacy_model or "none")
    masker = Masker(analyzer, Vault(redis, key, settings.ttl_s))
    return PiiStage(masker, profiles, locked=settings.locked)
