"""Semantic cache on GPTCache: scoped stores, similarity + second check, eviction, stats, engine stage."""

from core.cache.semantic import SemanticCache, open_cache
from core.cache.settings import BotCacheOptions, CacheSettings

__all__ = ["BotCacheOptions", "CacheSettings", "SemanticCache", "open_cache"]
