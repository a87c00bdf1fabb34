"""The PII vault: placeholder <-> value mapping of one conversation, in one Redis hash.

Fields: `p:<EMAIL_1>` -> Fernet(value) (restore), `h:<HMAC(type, value)>` -> `<EMAIL_1>` (stable reuse
without storing the value in clear), `n:EMAIL` -> last number used. A Redis dump or replica holds no
clear personal data. The hash expires with the conversation (TTL refreshed on every use).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

import redis.asyncio as aioredis
from cryptography.fernet import Fernet, InvalidToken
from redis.exceptions import WatchError

from core.errors import ConfigError
from core.state.keys import key

T = TypeVar("T")
KEY_FILE = "pii_vault.key"
# Typed placeholders: Presidio entity -> the short label the model sees, e.g. <EMAIL_1>.
LABELS = {
    "EMAIL_ADDRESS": "EMAIL", "PHONE_NUMBER": "PHONE", "CREDIT_CARD": "CARD", "IBAN_CODE": "IBAN",
    "IP_ADDRESS": "IP", "URL_CREDENTIALS": "URL", "API_KEY": "SECRET", "RU_PASSPORT": "PASSPORT",
    "RU_INN": "INN", "RU_SNILS": "SNILS", "STREET_ADDRESS": "ADDRESS", "DATE_OF_BIRTH": "DOB",
}
PLACEHOLDER = re.compile(r"<[A-Z][A-Z_]*_\d+>")


def label(entity_type: str) -> str:
    return LABELS.get(entity_type, entity_type)


def load_or_create_key(configured: str | None, data_dir: Path) -> bytes:
    """The configured Fernet key, or the one in data_dir (created with mode 0600 on first run)."""
    if configured:
        raw = configured.encode()
    else:
        path = data_dir / KEY_FILE
        data_dir.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            raw = path.read_bytes().strip()
        else:
            raw = Fernet.generate_key()
            with os.fdopen(fd, "wb") as f:
                f.write(raw + b"\n")
    try:
        Fernet(raw)
    except (ValueError, TypeError):
        raise ConfigError(
            "DESKMATE_PII__VAULT_KEY: not a Fernet key (32 url-safe base64-encoded bytes); generate one with: "
            "python -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())'"
        ) from None
    return raw


@dataclass
class Mapping:
    """One conversation's mapping in memory, plus what this turn added (to be written back)."""

    values: dict[str, str] = field(default_factory=dict)  # placeholder -> value
    by_digest: dict[str, str] = field(default_factory=dict)  # digest -> placeholder
    counters: dict[str, int] = field(default_factory=dict)  # label -> last number
    added: dict[str, tuple[str, str]] = field(default_factory=dict)  # placeholder -> (digest, value)

    def restore(self, text: str) -> str:
        """Replace known placeholders by their values; unknown ones stay as they are."""
        if "<" not in text:
            return text
        return PLACEHOLDER.sub(lambda m: self.values.get(m.group(0), m.group(0)), text)


class Vault:
    def __init__(self, redis: aioredis.Redis, fernet_key: bytes, ttl_s: int) -> None:
        self.redis = redis
        self.fernet = Fernet(fernet_key)
        self.hmac_key = hashlib.sha256(b"deskmate-pii-index\x00" + base64.urlsafe_b64decode(fernet_key)).digest()
        self.ttl_s = ttl_s

    def _key(self, conversation: str) -> str:
        return key("pii", conversation)

    def digest(self, entity_type: str, value: str) -> str:
        return hmac.new(self.hmac_key, f"{label(entity_type)}\x00{value}".encode(), hashlib.sha256).hexdigest()[:32]

    async def load(self, conversation: str) -> Mapping:
        """Read and decrypt the conversation's mapping (refreshing its TTL)."""
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.hgetall(self._key(conversation))
            pipe.expire(self._key(conversation), self.ttl_s)
            raw, _ = await pipe.execute()
        return self._decode(raw)

    def _decode(self, raw: dict[bytes, bytes]) -> Mapping:
        m = Mapping()
        for f, v in raw.items():
            name = f.decode()
            if name.startswith("p:"):
                try:
                    m.values[name[2:]] = self.fernet.decrypt(v).decode()
                except InvalidToken:
                    continue  # written under another key: that placeholder can no longer be restored
            elif name.startswith("h:"):
                m.by_digest[name[2:]] = v.decode()
            elif name.startswith("n:"):
                m.counters[name[2:]] = int(v)
        return m

    async def assign(self, conversation: str, apply: Callable[[Mapping], T]) -> tuple[Mapping, T]:
        """Run `apply` (which calls `placeholder` for each value) on the fresh mapping; persist what it added.

        Optimistic concurrency: if another message of the same conversation changed the hash meanwhile,
        the whole assignment is redone, so one value never gets two placeholders and vice versa.
        """
        hkey = self._key(conversation)
        async with self.redis.pipeline(transaction=True) as pipe:
            while True:
                try:
                    await pipe.watch(hkey)
                    mapping = self._decode(await pipe.hgetall(hkey))
                    result = apply(mapping)
                    pipe.multi()
                    if mapping.added:
                        fields: dict[str, str | bytes] = {}
                        for ph, (digest, value) in mapping.added.items():
                            fields["p:" + ph] = self.fernet.encrypt(value.encode())
                            fields["h:" + digest] = ph
                        for lab, n in mapping.counters.items():
                            fields["n:" + lab] = str(n)
                        pipe.hset(hkey, mapping=fields)
                    pipe.expire(hkey, self.ttl_s)
                    await pipe.execute()
                    mapping.added.clear()
                    return mapping, result
                except WatchError:
                    continue

    def placeholder(self, mapping: Mapping, entity_type: str, value: str) -> str:
        """The value's placeholder in this conversation, assigning the next number of its type if new."""
        digest = self.digest(entity_type, value)
        existing = mapping.by_digest.get(digest)
        if existing is not None and existing in mapping.values:
            return existing
        lab = label(entity_type)
        n = mapping.counters.get(lab, 0) + 1
        mapping.counters[lab] = n
        ph = f"<{lab}_{n}>"
        mapping.values[ph] = value
        mapping.by_digest[digest] = ph
        mapping.added[ph] = (digest, value)
        return ph
