"""The questions the bot took, in Redis: which version of each is current, who asked, where its answer is.

One hash per question, `dm:question:<platform>:<tenant>:<ref>` (ref = "<channel>:<the platform's message id>"),
written when the receiving side queues the question and kept a day:

  user     who asked: only they can edit it
  at       when it was asked (the platform's time, seconds)
  v        the current version: 0 = as asked, +1 per accepted edit, +1 on deletion
  digest   HMAC-SHA256 of the current text, keyed by the PII vault key: an edit that does not change the text
           (Slack sends `message_changed` for unfurls and thread replies too) is recognised without keeping it
  edit_at  the platform's time of the newest accepted edit: an older edit delivered late changes nothing
  state    open | deleted
  conv     the conversation (memory scope) the question belongs to
  answer   JSON: the platform ids of the visible answer, recorded when an answer ends
  lang     that answer's language (a deletion note follows it)
  stop     the version whose answer the user stopped (Stop button, or the platform's own stop)

Beside it, `...:lock` is held by the one answer writing the question's visible answer (renewed while it runs),
so an edit's answer never writes into the message while the answer it supersedes is still finishing it.
A platform's own stop control names the answer by its own id (a Telegram draft id, a Slack thread): `...:handle:<id>`
points at the question and version it streams (`hold`), kept as long as the question.
Every decision (edit accepted, deletion, stop, answer recorded) is one Lua script: two receivers or two workers that
see the same event decide once.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import uuid
from dataclasses import dataclass, field
from typing import Any

import redis.asyncio as aioredis
import structlog

from core.edits.settings import EditSettings
from core.memory.window import ConversationMemory
from core.models import Inbound
from core.state.keys import key

log = structlog.get_logger("deskmate.edits")

TTL_S = 86_400
LOCK_MS = 10_000  # an answer renews its lock every poll; a dead worker's lock expires after this

_ASKED = """
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], 'user', ARGV[1], 'at', ARGV[2], 'v', '0', 'digest', ARGV[3], 'conv', ARGV[4],
           'state', 'open')
redis.call('EXPIRE', KEYS[1], ARGV[5])
return 1
"""

# ARGV: user, digest, edit time, window seconds
_EDITED = """
local f = redis.call('HMGET', KEYS[1], 'user', 'at', 'digest', 'edit_at', 'state')
if not f[1] then return {'unknown', 0} end
if f[1] ~= ARGV[1] then return {'other_user', 0} end
if f[5] == 'deleted' then return {'deleted', 0} end
local at = tonumber(ARGV[3])
if at - tonumber(f[2]) > tonumber(ARGV[4]) then return {'too_late', 0} end
if f[3] == ARGV[2] then return {'unchanged', 0} end
if f[4] and at < tonumber(f[4]) then return {'stale', 0} end
local v = redis.call('HINCRBY', KEYS[1], 'v', 1)
redis.call('HSET', KEYS[1], 'digest', ARGV[2], 'edit_at', ARGV[3])
return {'ok', v}
"""

_DELETED = """
local f = redis.call('HMGET', KEYS[1], 'state', 'answer', 'lang', 'conv')
if not f[1] then return {'unknown'} end
if f[1] == 'deleted' then return {'already'} end
redis.call('HSET', KEYS[1], 'state', 'deleted')
redis.call('HINCRBY', KEYS[1], 'v', 1)
return {'ok', tostring(redis.call('EXISTS', KEYS[2])), f[2] or '', f[3] or '', f[4] or ''}
"""

# ARGV: token, lock ms. Renews the lock if it is ours; returns the question's version, state and stopped version.
_RENEW = """
if redis.call('GET', KEYS[2]) == ARGV[1] then redis.call('PEXPIRE', KEYS[2], ARGV[2]) end
return redis.call('HMGET', KEYS[1], 'v', 'state', 'stop')
"""

# ARGV: user, '1' when an admin presses, the version to stop. Only the asker (or an admin) stops an answer, only
# while it is written (the lock is held) and only the current version's: a Stop pressed late changes nothing.
_STOP = """
local f = redis.call('HMGET', KEYS[1], 'user', 'v', 'state')
if not f[1] then return 'unknown' end
if f[1] ~= ARGV[1] and ARGV[2] ~= '1' then return 'not_yours' end
if f[3] == 'deleted' or f[2] ~= ARGV[3] or redis.call('EXISTS', KEYS[2]) == 0 then return 'over' end
redis.call('HSET', KEYS[1], 'stop', ARGV[3])
return 'ok'
"""

# ARGV: token, answer ids JSON ('' = nothing to record), language. Records the answer and releases the lock,
# only if the lock is still ours (else another answer writes the message now and records its own ids).
_FINISH = """
local mine = redis.call('GET', KEYS[2]) == ARGV[1]
if mine then
  if ARGV[2] ~= '' and redis.call('EXISTS', KEYS[1]) == 1 then
    redis.call('HSET', KEYS[1], 'answer', ARGV[2], 'lang', ARGV[3])
  end
  redis.call('DEL', KEYS[2])
end
local f = redis.call('HMGET', KEYS[1], 'state', 'conv')
return {mine and '1' or '0', f[1] or '', f[2] or ''}
"""


def question_of(inbound: Inbound) -> tuple[str, int] | None:
    """(the question's ref, the version this Inbound carries), or None for what is not a question (a button)."""
    ref = inbound.extras.get("question")
    if not ref or inbound.action is not None:
        return None
    return str(ref), int(inbound.extras.get("version") or 0)


def as_edit(inbound: Inbound, version: int) -> Inbound:
    """The Inbound of an accepted edit: its own message id (one queue entry per edit version) and its version."""
    ref = inbound.extras["question"]
    return inbound.model_copy(update={"message_id": f"{ref}:v{version}",
                                      "extras": {**inbound.extras, "version": version}})


@dataclass(frozen=True)
class Edit:
    """What an edit event does: `status` "ok" (answer `version`) or why it changes nothing."""

    status: str
    version: int = 0


@dataclass(frozen=True)
class Current:
    """What an answer in flight reads each poll: the question's version and state, and the stopped version."""

    version: int | None
    state: str = ""
    stopped: int | None = None


@dataclass(frozen=True)
class Deletion:
    status: str  # "ok" | "unknown" (never answered) | "already"
    busy: bool = False  # an answer is being written: it ends with the note itself
    answer: dict[str, Any] = field(default_factory=dict)  # the finished answer's platform ids (to be noted)
    lang: str = "en"


@dataclass
class Ended:
    """What `finish` found: the question was deleted meanwhile (note the answer), and whether we held the lock."""

    deleted: bool
    held: bool


class QuestionLedger:
    def __init__(self, redis: aioredis.Redis, settings: EditSettings, secret: bytes,
                 memory: ConversationMemory | None = None) -> None:
        self.redis = redis
        self.settings = settings
        self.secret = secret
        self.memory = memory
        self._asked = redis.register_script(_ASKED)
        self._edited = redis.register_script(_EDITED)
        self._deleted = redis.register_script(_DELETED)
        self._renew = redis.register_script(_RENEW)
        self._finish = redis.register_script(_FINISH)
        self._stop = redis.register_script(_STOP)

    # -- keys

    @staticmethod
    def _key(platform: str, tenant: str, ref: str) -> str:
        return key("question", platform, tenant, ref)

    def _keys(self, platform: str, tenant: str, ref: str) -> list[str]:
        record = self._key(platform, tenant, ref)
        return [record, f"{record}:lock"]

    def digest(self, text: str) -> str:
        return hmac.new(self.secret, " ".join(text.split()).encode(), hashlib.sha256).hexdigest()[:32]

    # -- the receiving side

    async def asked(self, inbound: Inbound, at: float) -> None:
        """Remember a question as it is queued (its text only as a keyed digest)."""
        question = question_of(inbound)
        if question is None or self.settings.window_s <= 0:
            return
        ref, _ = question
        await self._asked(keys=[self._key(inbound.platform, inbound.tenant, ref)],
                          args=[inbound.user, repr(float(at)), self.digest(inbound.text), inbound.conversation_key,
                                TTL_S])

    async def edited(self, inbound: Inbound, at: float) -> Edit:
        """Decide once whether an edit (the Inbound made from the edited message) is answered, and as which
        version. Not answered: a question the bot never took, someone else's edit, a deleted question, an edit
        after the window, a text that did not change, an older edit arriving after a newer one, an empty text."""
        question = question_of(inbound)
        if question is None or self.settings.window_s <= 0:
            return Edit("off")
        if not inbound.text.strip() and not inbound.attachments:
            return Edit("empty")
        ref, _ = question
        status, version = await self._edited(
            keys=[self._key(inbound.platform, inbound.tenant, ref)],
            args=[inbound.user, self.digest(inbound.text), repr(float(at)), repr(self.settings.window_s)])
        return Edit(status.decode() if isinstance(status, bytes) else str(status), int(version))

    async def deleted(self, platform: str, tenant: str, ref: str) -> Deletion:
        """The question was deleted: answers in flight or queued stop, the exchange leaves the conversation
        memory; a finished answer's ids are returned so the adapter can note it."""
        reply = [v.decode() if isinstance(v, bytes) else str(v)
                 for v in await self._deleted(keys=self._keys(platform, tenant, ref))]
        if reply[0] != "ok":
            return Deletion(reply[0])
        _, busy, answer, lang, conv = reply
        await self._forget(conv, ref)
        return Deletion("ok", busy=busy == "1", answer=json.loads(answer) if answer else {}, lang=lang or "en")

    async def _forget(self, conversation: str, ref: str) -> None:
        if self.memory is not None and conversation:
            await self.memory.forget(conversation, ref)

    # -- the answering side (core/edits/answering.py)

    async def lock(self, inbound: Inbound) -> str | None:
        """Take the question's answer lock; its token, or None while another answer holds it."""
        ref, _ = question_of(inbound) or ("", 0)
        token = uuid.uuid4().hex
        taken = await self.redis.set(self._keys(inbound.platform, inbound.tenant, ref)[1], token, nx=True,
                                     px=LOCK_MS)
        return token if taken else None

    async def current(self, inbound: Inbound, token: str = "") -> Current:
        """The question's current version, state and stopped version; renews our lock. Version None: no record."""
        ref, _ = question_of(inbound) or ("", 0)
        version, state, stop = await self._renew(keys=self._keys(inbound.platform, inbound.tenant, ref),
                                                 args=[token or "-", LOCK_MS])
        if version is None:
            return Current(None)
        return Current(int(version), state.decode() if isinstance(state, bytes) else str(state or ""),
                       int(stop) if stop is not None else None)

    # -- stopping an answer (a Stop button, or the platform's own stop)

    async def stop(self, platform: str, tenant: str, ref: str, version: int, user: str, admin: bool) -> str:
        """Stop the answer of question `ref` at `version`: "ok" (it ends within a poll, with the "stopped" note),
        "not_yours" (only the asker or an admin may), "over" (already finished, or superseded), "unknown"."""
        status = await self._stop(keys=self._keys(platform, tenant, ref), args=[user, "1" if admin else "0", version])
        return status.decode() if isinstance(status, bytes) else str(status)

    async def hold(self, inbound: Inbound, handle: str) -> None:
        """Name this answer by a platform id (`handle`), for a stop that comes with that id only."""
        ref, version = question_of(inbound) or ("", 0)
        await self.redis.set(self._handle(inbound.platform, inbound.tenant, handle), f"{version}:{ref}", ex=TTL_S)

    async def held(self, platform: str, tenant: str, handle: str) -> tuple[str, int] | None:
        """(question ref, version) an answer was named by with `hold`, or None."""
        raw = await self.redis.get(self._handle(platform, tenant, handle))
        if raw is None:
            return None
        version, _, ref = (raw.decode() if isinstance(raw, bytes) else str(raw)).partition(":")
        return ref, int(version)

    @staticmethod
    def _handle(platform: str, tenant: str, handle: str) -> str:
        return key("question", platform, tenant, "handle", handle)

    async def shown(self, inbound: Inbound) -> tuple[dict[str, Any], str]:
        """The visible answer recorded for the question (its platform ids) and its language."""
        ref, _ = question_of(inbound) or ("", 0)
        answer, lang = await self.redis.hmget(self._key(inbound.platform, inbound.tenant, ref), ["answer", "lang"])
        return (json.loads(answer) if answer else {}), (lang.decode() if lang else "en")

    async def finish(self, inbound: Inbound, token: str, ids: dict[str, Any] | None, lang: str) -> Ended:
        """Record the answer's ids (when it showed something) and release the lock; a question deleted meanwhile
        leaves the conversation memory (again: the answer may have appended it after the deletion did)."""
        ref, _ = question_of(inbound) or ("", 0)
        held, state, conv = [v.decode() if isinstance(v, bytes) else str(v) for v in await self._finish(
            keys=self._keys(inbound.platform, inbound.tenant, ref),
            args=[token or "-", json.dumps(ids) if ids else "", lang])]
        deleted = state == "deleted"
        if deleted:
            await self._forget(conv, ref)
        return Ended(deleted=deleted, held=held == "1")
