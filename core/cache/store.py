"""One scope of the semantic cache on GPTCache: a `Cache` over a `get_data_manager(CacheBase, VectorBase)`.

A scope is platform + tenant + bot (+ prompt version) + language + audience + knowledge-base version; every
scope has its own stores
(embedded: its own sqlite file and faiss index in its own directory; shared: its own tables/collection),
so a lookup can only ever find answers of its own scope. All methods are synchronous and must run on the
cache's single worker thread (faiss indexes are not safe for concurrent writes).
"""

from __future__ import annotations

import hashlib
import json
import shutil
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np

from core.cache.deps import forbid_runtime_installs
from core.cache.lexical import LexicalIndex, terms
from core.cache.match import MatchRules, QuestionShape
from core.cache.settings import CacheSettings


@dataclass(frozen=True)
class Scope:
    platform: str
    tenant: str
    bot: str
    language: str
    kb_version: str
    audience: str = "*"  # Audience.key: the access groups the asker may read ("*" = public only)

    @property
    def partition(self) -> str:
        """Everything but the KB version: a new version replaces the partition's old entries."""
        parts = (self.platform, self.tenant, self.bot, self.language)
        raw = "\0".join(parts if self.audience == "*" else (*parts, self.audience))
        return hashlib.sha256(raw.encode()).hexdigest()[:24]

    @property
    def version(self) -> str:
        return hashlib.sha256(self.kb_version.encode()).hexdigest()[:12]

    @property
    def name(self) -> str:
        return f"dmc_{self.partition[:16]}_{self.version}"

    def to_json(self) -> str:
        return json.dumps([self.platform, self.tenant, self.bot, self.language, self.kb_version, self.audience])

    @classmethod
    def from_json(cls, raw: str | bytes) -> Scope:
        return cls(*json.loads(raw))


@dataclass
class Entry:
    """What is stored per question (as GPTCache's answer string): the reply, never restored personal data."""

    text: str
    citations: list[dict[str, Any]] = field(default_factory=list)
    model: str | None = None
    prompt_name: str | None = None
    prompt_version: str | None = None
    reply_id: str = ""
    # The access groups of every passage the answer was made from ("*" = public): served only to an
    # audience that may read all of them.
    groups: list[str] = field(default_factory=list)
    # The earlier user turns (masked) the question followed; empty for a question asked on its own.
    context: list[str] = field(default_factory=list)

    def dump(self) -> str:
        return json.dumps(self.__dict__, ensure_ascii=False)

    @classmethod
    def load(cls, raw: str) -> Entry:
        data = json.loads(raw)
        return cls(**{k: v for k, v in data.items() if k in cls.__dataclass_fields__})


@dataclass
class Hit:
    entry_id: int
    similarity: float
    entry: Entry
    question: str = ""  # the stored (masked) question
    rank: float = 0.0  # cosine (after margins) + lexical_weight x word overlap: the candidates' order


def for_verifier(found: list[Hit], settings: CacheSettings) -> list[Hit]:
    """The best candidates for the verifier: at most `max_verify`, each ranked within `verify_margin` of the
    best (a far second rarely is the one, and every judgement costs a model call)."""
    if not found:
        return []
    best = found[0].rank
    return [c for c in found[: settings.max_verify] if c.rank >= best - settings.verify_margin]


class _Evaluation:
    """GPTCache similarity evaluation: cosine from the faiss L2 distance, then our second check and TTL.

    Per-call parameters come through `cache_context["evaluation_func"]` (GPTCache's `extra_param`).
    Returns the similarity lowered by any extra margin the pair needs, or 0 for "never a hit".
    """

    def evaluation(self, src_dict: dict[str, Any], cache_dict: dict[str, Any], **kwargs: Any) -> float:
        call: dict[str, Any] = kwargs["extra_param"]
        distance, entry_id = cache_dict["search_result"]
        similarity = 1.0 - float(distance) / 2.0  # unit vectors: squared L2 = 2 - 2 cos
        created = cache_dict["cache_data"].create_on
        if created is not None and datetime.now() - created > call["ttl"]:
            call["expired"].append(int(entry_id))
            return 0.0
        rules: MatchRules = call["rules"]
        need = rules.required(call["shape"], QuestionShape.of(str(cache_dict["question"])))
        if need is None:
            return 0.0
        score = max(0.0, similarity - (need - rules.threshold))
        if score >= rules.threshold:
            call["accepted"][int(entry_id)] = (score, similarity, str(cache_dict["question"]),
                                               str(cache_dict["answer"]))
        return score

    def range(self) -> tuple[float, float]:
        return 0.0, 1.0


def _pre(data: dict[str, Any], **_: Any) -> str:
    return str(data["prompt"])


def _vector(_: Any, extra_param: Any = None) -> Any:
    return extra_param  # the question's vector, embedded by our async embedder before the call


def _sqlite_pragmas(connection: Any, _: Any) -> None:
    import sqlite3

    if isinstance(connection, sqlite3.Connection):
        cursor = connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()


def _tune_sqlite() -> None:
    """WAL + synchronous=NORMAL on every SQLite connection SQLAlchemy opens in this process (only GPTCache's
    scalar store uses SQLAlchemy here): GPTCache commits on every read (last_access); without this each is an
    fsync. A listener on SQLAlchemy's public Engine class, installed before the store's engine connects."""
    from sqlalchemy import event
    from sqlalchemy.engine import Engine

    if not event.contains(Engine, "connect", _sqlite_pragmas):
        event.listen(Engine, "connect", _sqlite_pragmas)


class _Closed:
    def close(self) -> None:
        return None


class ScopeStore:
    def __init__(self, scope: Scope, settings: CacheSettings, dim: int, root: Path) -> None:
        forbid_runtime_installs()
        from gptcache import Cache, Config
        from gptcache.manager import CacheBase, VectorBase, get_data_manager
        from gptcache.manager.eviction import EvictionBase
        from gptcache.processor.post import first

        from core.cache.near import NearOnlyDataManager as _NearOnly

        self.scope = scope
        self.settings = settings
        self.dir = root / scope.partition / scope.version
        self.dir.mkdir(parents=True, exist_ok=True)
        label = root / scope.partition / "scope.json"  # which platform/tenant/bot/language a directory holds
        if not label.exists():
            label.write_text(json.dumps({"platform": scope.platform, "tenant": scope.tenant, "bot": scope.bot,
                                         "language": scope.language}))
        self.evicted = 0
        self._pending_evict: list[Any] = []
        self._stores_since_flush = 0
        self._dm: Any = None
        self._lexicon = LexicalIndex()  # the second candidate source (core/cache/lexical.py)
        if settings.scalar_store == "sqlite":
            _tune_sqlite()  # before CacheBase opens its first connection
        cache_base = CacheBase(
            settings.scalar_store, sql_url=settings.scalar_url or f"sqlite:///{self.dir / 'sqlite.db'}",
            table_name=scope.name, table_len_config={"answer_answer": 65_535, "question_question": 8_000},
        )
        vector_params: dict[str, Any] = {"dimension": dim, "top_k": settings.top_k, **settings.vector_params}
        if settings.vector_store == "faiss":
            vector_params["index_path"] = str(self.dir / "faiss.index")
        else:
            vector_params.setdefault("collection_name", scope.name)
        vector_base = VectorBase(settings.vector_store, **vector_params)
        eviction = EvictionBase(
            name="memory", policy=settings.eviction, maxsize=settings.max_entries,
            clean_size=max(1, settings.max_entries // 10), on_evict=self._on_evict,
        )
        plain = get_data_manager(cache_base, vector_base, eviction_base=eviction)
        self._dm = _NearOnly(plain.s, plain.v, plain.o, plain.eviction_base, settings.max_entries, None,
                             settings.eviction)
        if self._pending_evict:  # more rows on disk than max_entries allows (the bound was lowered)
            self._on_evict(self._pending_evict)
        self._reconcile()
        for entry_id in self._dm.s.get_ids(deleted=False):
            data = self._dm.s.get_data_by_id(entry_id)
            if data is not None:
                self._lexicon.add(int(entry_id), str(data.question))
        self.cache = Cache()
        self.cache.init(
            pre_embedding_func=_pre, embedding_func=_vector, data_manager=self._dm,
            similarity_evaluation=_Evaluation(), post_process_messages_func=first,
            config=Config(similarity_threshold=settings.threshold, disable_report=True,
                          auto_flush=settings.flush_every),
        )

    def _on_evict(self, ids: list[Any]) -> None:
        """GPTCache's size bound hit: it evicts `ids` (LRU/LFU/FIFO); we count them and free the storage."""
        ids = [i for i in ids if i is not None]
        if self._dm is None:
            self._pending_evict.extend(ids)
            return
        if not ids:
            return
        self._dm.s.mark_deleted(ids)
        self._dm.v.delete(ids)
        self._dm.s.clear_deleted_data()
        self._lexicon.remove(ids)
        self.evicted += len(ids)

    def _reconcile(self) -> None:
        """After a crash the faiss file may lag the sqlite rows: re-add the missing vectors from sqlite."""
        if self.settings.vector_store != "faiss":
            return
        from gptcache.manager.vector_data.base import VectorData

        ids = self._dm.s.get_ids(deleted=False)
        if self._dm.v.count() == len(ids):
            return
        self._dm.v._index.reset()
        rows = []
        for entry_id in ids:
            data = self._dm.s.get_data_by_id(entry_id)
            if data is not None and data.embedding_data is not None:
                rows.append(VectorData(id=entry_id, data=np.asarray(data.embedding_data, dtype="float32")))
        if rows:
            self._dm.v.mul_add(rows)
        self._dm.v.flush()

    def count(self) -> int:
        return int(self._dm.s.count(state=0))

    def candidates(self, question: str, vectors: list[list[float]], rules: MatchRules, ttl_s: int) -> list[Hit]:
        """Stored questions that pass the second check and are near any of `vectors` (cosine >= the floor) or
        share enough content words (`lexical_floor`), ranked by cosine + `lexical_weight` x overlap, best
        first. Candidates for the verifier, not yet hits."""
        from gptcache.adapter.api import get

        shape = QuestionShape.of(question)
        call: dict[str, Any] = {"rules": rules, "shape": shape, "ttl": timedelta(seconds=ttl_s),
                                "expired": [], "accepted": {}}
        self.cache.config.similarity_threshold = rules.threshold
        self._dm.min_similarity = rules.threshold
        found: dict[int, tuple[float, float, str, str]] = {}
        for vector in vectors:
            call["accepted"] = {}
            get(question, cache_obj=self.cache,
                cache_context={"embedding_func": np.asarray(vector, dtype="float32"), "evaluation_func": call})
            for entry_id, row in call["accepted"].items():
                if entry_id not in found or row[0] > found[entry_id][0]:
                    found[entry_id] = row
        words = terms(question)
        overlap = {i: self._lexicon.score(words, i) for i in found}
        if self.settings.lexical_floor < 1.0:
            for entry_id, share in self._lexicon.search(words, self.settings.lexical_floor, self.settings.top_k):
                if entry_id in found:
                    continue
                row = self._lexical_row(entry_id, shape, vectors, rules, call)
                if row is not None:
                    found[entry_id], overlap[entry_id] = row, share
        if call["expired"]:
            self.delete(sorted(set(call["expired"])))
        weight = self.settings.lexical_weight
        hits = [Hit(entry_id=i, similarity=sim, entry=Entry.load(answer), question=q,
                    rank=score + weight * overlap[i]) for i, (score, sim, q, answer) in found.items()]
        return sorted(hits, key=lambda hit: hit.rank, reverse=True)

    def _lexical_row(self, entry_id: int, shape: QuestionShape, vectors: list[list[float]], rules: MatchRules,
                     call: dict[str, Any]) -> tuple[float, float, str, str] | None:
        """A lexical candidate's row, after the TTL and the second check; its cosine from the stored vector."""
        data = self._dm.s.get_data_by_id(entry_id)
        if data is None or not data.answers or data.embedding_data is None:
            return None
        if data.create_on is not None and datetime.now() - data.create_on > call["ttl"]:
            call["expired"].append(entry_id)
            return None
        need = rules.required(shape, QuestionShape.of(str(data.question)))
        if need is None:
            return None
        stored = np.asarray(data.embedding_data, dtype="float32")
        stored = stored / (float(np.linalg.norm(stored)) or 1.0)
        similarity = max(float(np.dot(stored, np.asarray(v, dtype="float32") / (float(np.linalg.norm(v)) or 1.0)))
                         for v in vectors)
        answer = data.answers[0]
        raw = answer.answer if hasattr(answer, "answer") else answer[0]
        score = max(0.0, similarity - (need - rules.threshold))
        return score, similarity, str(data.question), str(raw)

    def by_id(self, entry_id: int, ttl_s: int) -> Hit | None:
        """One live, unexpired entry (the exact-repeat path: no embedding, no vector search)."""
        data = self._dm.s.get_data_by_id(entry_id)
        if data is None or not data.answers:
            return None
        if data.create_on is not None and datetime.now() - data.create_on > timedelta(seconds=ttl_s):
            self.delete([entry_id])
            return None
        answer = data.answers[0]
        raw = answer.answer if hasattr(answer, "answer") else answer[0]
        touch = getattr(self._dm.eviction_base, "get", None)
        if touch is not None:
            touch(entry_id)  # a hit counts for LRU/LFU like one found by similarity
        return Hit(entry_id=entry_id, similarity=1.0, entry=Entry.load(str(raw)), question=str(data.question))

    def insert(self, question: str, vector: list[float], entry: Entry) -> int:
        """Store one answer; returns its id. (GPTCache's `put` hides the id, which eviction needs.)"""
        from gptcache.manager.data_manager import normalize
        from gptcache.manager.scalar_data.base import CacheData
        from gptcache.manager.vector_data.base import VectorData

        embedding = normalize(np.asarray(vector, dtype="float32")).astype("float32")
        entry_id = int(self._dm.s.batch_insert([CacheData(question=question, answers=entry.dump(),
                                                          embedding_data=embedding)])[0])
        self._dm.v.mul_add([VectorData(id=entry_id, data=embedding)])
        self._lexicon.add(entry_id, question)
        self._dm.eviction_base.put([entry_id])
        self._stores_since_flush += 1
        if self._stores_since_flush >= self.settings.flush_every:
            self.flush()
        return entry_id

    def delete(self, ids: list[int]) -> int:
        """Remove entries now (thumbs-down, expired). Returns how many existed."""
        live = set(self._dm.s.get_ids(deleted=False))
        ids = [i for i in ids if i in live]
        if ids:
            self._dm.s.mark_deleted(ids)
            self._dm.v.delete(ids)
            self._dm.s.clear_deleted_data()
            self._lexicon.remove(ids)
            self.flush()
        return len(ids)

    def delete_if_origin(self, entry_id: int, origin: str) -> int:
        """Delete the entry if it still holds the answer first given as reply `origin` (ids can be reused)."""
        data = self._dm.s.get_data_by_id(entry_id)
        if data is None or not data.answers:
            return 0
        answer = data.answers[0]
        raw = answer.answer if hasattr(answer, "answer") else answer[0]
        if Entry.load(str(raw)).reply_id != origin:
            return 0
        return self.delete([entry_id])

    def flush(self) -> None:
        self._dm.flush()
        self._stores_since_flush = 0

    def close(self) -> None:
        """Write the index and release the stores. GPTCache's `Cache.init` registers an atexit hook that
        closes its data manager again and keeps it alive: swap in an empty one so closed scopes free memory."""
        if isinstance(self._dm, _Closed):
            return
        self._dm.close()
        self._dm = _Closed()
        self.cache.data_manager = self._dm

    def drop(self) -> None:
        """Delete this scope's stored entries for good (the KB was re-indexed)."""
        self.close()
        if self.settings.scalar_url is None and self.settings.vector_store == "faiss":
            shutil.rmtree(self.dir, ignore_errors=True)
