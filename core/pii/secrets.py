"""Secrets: API keys and tokens of the common shapes, private-key blocks, and a high-entropy fallback.

All are reported as API_KEY (URLs with `user:password@` as URL_CREDENTIALS). Known shapes score 0.9; a
value after a label (`password:`, `пароль`, `token=`...) 0.8; the entropy fallback 0.6 (a long random-looking
word: mixed letter cases and digits, or hex of 32+ characters, or 12+ characters of three or more classes
including symbols), which leaves order numbers, SKUs, tracking codes and version strings alone.
"""

from __future__ import annotations

import itertools
import math
import re
from collections import Counter
from typing import ClassVar

from presidio_analyzer import LocalRecognizer, Pattern, PatternRecognizer, RecognizerResult

from core.pii.gating import PreChecked, any_of, any_word, contains
from core.pii.results import found


class UrlCredentialsRecognizer(PreChecked, PatternRecognizer):
    """A URL with `user:password@` in it (database DSNs, basic-auth links): the whole URL is secret."""

    needs = staticmethod(contains("://"))
    PATTERNS: ClassVar[list[Pattern]] = [
        Pattern(
            "url with credentials",
            r"\b[a-z][a-z0-9+.\-]{1,15}://[^\s:/@]+:[^\s/@]+@[^\s<>\"']*[^\s<>\"'.,;:!?)\]]",
            0.9,
        ),
    ]

    def __init__(self, supported_language: str) -> None:
        super().__init__(supported_entity="URL_CREDENTIALS", patterns=self.PATTERNS,
                         supported_language=supported_language, name=f"UrlCredentials_{supported_language}")


_LABEL = (r"(?:api[_\- ]?key|access[_\- ]?key|secret(?:[_\- ]?key)?|token|password|passwd|pwd|pw|pass|passcode"
          r"|пароль|паролем|пароля|токен|ключ|секрет)")
# A label may follow `_` (`aws_secret_access_key`, `client_secret`) and name what it is for ("пароль от почты",
# "password for gmail is ...").
_LABELLED = rf"(?<![A-Za-z0-9]){_LABEL}(?:\s+(?:от|для|for|to|of|on)\s+[\w.\-]{{2,30}}(?:\s+[\w.\-]{{2,30}}){{0,2}})?"
# Query-string and connection-string parameters that carry a secret (`?token=`, `&X-Amz-Signature=`,
# `;AccountKey=`): the value is masked, the URL around it stays.
# Also a cookie (`Set-Cookie: session=...`) and a bare `name=value` whose value has a digit or a capital.
# Bounded repeats: a lookbehind or lookahead over an unbounded run costs the whole run at every position
# ("token=token=token=..." was quadratic).
_SECRET_PARAM = (r"(?<=(?<![\w\-])[\w\-]{0,24}"
                 r"(?:token|key|secret|signature|password|passwd|pwd|credential|session|auth)[\w\-]{0,24}=)(?=[^\s&#\"'<>;]{0,80}(?-i:[\dA-Z%]))")


_NOT_A_VALUE = (r"(?:reset|expired|changed|change|required|incorrect|invalid|wrong|please|forgot|forgotten|updated|"
                r"update|missing|unknown|hidden|redacted|removed|same|blank|empty|none|null|protected|"
                r"неверн|сброс|истёк|истек|изменён|изменен|забыл|не\s|пуст|скрыт|тот\s+же)\w*\b")


class ApiKeyRecognizer(PreChecked, PatternRecognizer):
    """Well-known token formats, PEM private keys, and any value after `api_key=`, `token:`, `пароль`..."""

    # Every pattern below holds one of these (Presidio matches them case-insensitively: the words are looked for in
    # the lower-cased text); the labels of _LABEL all hold "key", "secret", "token", "pass", "pw" or a Russian stem.
    needs = staticmethod(any_of(
        any_word("sk-", "sk_", "rk_", "pk_", "whsec_", "ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_", "glpat-",
                 "xox", "xapp-", "akia", "asia", "aiza", "npm_", "hf_", "shp", "pypi-", "dop_", "sq0", "sg.", "eyj",
                 "private key", "bearer", "key", "secret", "token", "pass", "pw", "парол", "токен", "ключ", "секрет"),
        contains(r"\d{6}:"), contains(r"SK[0-9a-f]")))
    PATTERNS: ClassVar[list[Pattern]] = [
        Pattern("openai", r"\bsk-(?:proj-|ant-)?[A-Za-z0-9_\-]{20,}", 0.9),
        Pattern("stripe", r"\b(?:sk|rk|pk)_(?:live|test)_[A-Za-z0-9]{16,}", 0.9),
        Pattern("stripe webhook", r"\bwhsec_[A-Za-z0-9+/=]{16,}", 0.9),
        Pattern("github", r"\b(?:gh[pousr]_[A-Za-z0-9]{30,}|github_pat_\w{22,})", 0.9),
        Pattern("gitlab", r"\bglpat-[A-Za-z0-9_\-]{20,}", 0.9),
        Pattern("slack", r"\b(?:xox[abposre]-[A-Za-z0-9\-]{10,}|xapp-\d-[A-Za-z0-9\-]{10,})", 0.9),
        Pattern("sendgrid", r"\bSG\.[A-Za-z0-9_\-]{16,}\.[A-Za-z0-9_\-]{16,}", 0.9),
        Pattern("npm / hugging face", r"\b(?:npm_[A-Za-z0-9]{36}|hf_[A-Za-z0-9]{30,})\b", 0.9),
        Pattern("shopify / pypi / digitalocean / square / twilio",
                r"\b(?:shp(?:at|ss|ca|pa)_[a-fA-F0-9]{32}|pypi-AgE[A-Za-z0-9_\-]{50,}|dop_v1_[a-f0-9]{64}"
                r"|sq0(?:atp|csp)-[A-Za-z0-9_\-]{22,}|(?-i:SK)[0-9a-f]{32})\b", 0.9),
        Pattern("aws access key", r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b", 0.9),
        Pattern("google", r"\bAIza[0-9A-Za-z_\-]{35}", 0.9),
        # Bot ids have 6-10 digits (older bots fewer); the secret part 35 characters (AA... for newer ones).
        Pattern("telegram bot token", r"\b\d{6,10}:(?:[A-Za-z0-9_\-]{35}\b|AA[A-Za-z0-9_\-]{28,40}(?![\w\-]))", 0.9),
        Pattern("jwt", r"\beyJ[A-Za-z0-9_\-]{8,}\.eyJ[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]{8,}", 0.9),
        Pattern("private key block",
                r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----[\s\S]*?-----END (?:[A-Z0-9]+ )*PRIVATE KEY"
                r"(?: BLOCK)?-----", 0.95),
        # A paste cut before its END line: the BEGIN line and the base64 lines after it.
        Pattern("private key block (cut)",
                r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----(?:\r?\n[ \t]*[A-Za-z0-9+/=]{8,})+", 0.9),
        Pattern("bearer", r"(?<=\bbearer\s+)[A-Za-z0-9._~+/\-]{16,}=*", 0.8),
        # The value stops before `&name=` (the next query parameter); `&` inside a password stays in it.
        Pattern("labelled secret", rf"(?<={_LABELLED}\s*(?:is|:|=|-|—)?\s*)(?=\S{{0,80}}[\d!@#$%^&*])[^\s\"',;&=]"
                r"(?:[^\s\"',;&]|&(?![A-Za-z_][\w\-]{0,40}=)){5,}", 0.8),
        # After `password:` / `пароль=` any word of 6+ characters is the value, digits or not ("password:
        # sunshine"), unless it says something about the password ("password: reset", «пароль: неверный»).
        Pattern("labelled secret (after a colon)", rf"(?<={_LABELLED}\s*[:=]\s*)(?!{_NOT_A_VALUE})[^\s\"',;&=.]"
                r"[^\s\"',;&]{5,}", 0.8),
        Pattern("labelled secret (quoted)", rf"(?<={_LABELLED}\s*(?:is|:|=)?\s*[\"'`])[^\s\"'`]{{4,}}", 0.8),
    ]

    def __init__(self, supported_language: str) -> None:
        super().__init__(supported_entity="API_KEY", patterns=self.PATTERNS,
                         supported_language=supported_language, name=f"ApiKey_{supported_language}")

    def analyze(self, text: str, entities: list[str], nlp_artifacts: object = None,
                regex_flags: int | None = None) -> list[RecognizerResult]:
        results = super().analyze(text, entities, nlp_artifacts, regex_flags)
        for r in results:
            # A key of a known shape that a paste wrapped at the end of a line: its rest starts the next line.
            if r.score >= 0.9 and (rest := _WRAPPED_REST.match(text, r.end)) and _continues(rest.group(1)):
                r.end = rest.end(1)
        return results


class _PatternSecret(PreChecked, PatternRecognizer):
    """API_KEY patterns that start with a lookbehind (the regex engine tries it at every position: ~15 us a
    message each), kept out of ApiKeyRecognizer so that they run only on text holding what they need."""

    PATTERNS: ClassVar[list[Pattern]]

    def __init__(self, supported_language: str) -> None:
        super().__init__(supported_entity="API_KEY", patterns=self.PATTERNS, supported_language=supported_language,
                         name=f"{type(self).__name__}_{supported_language}")


class SecretParameterRecognizer(_PatternSecret):
    """The value of a secret parameter in a URL, a cookie or a connection string."""

    needs = staticmethod(contains(r"\w="))
    PATTERNS: ClassVar[list[Pattern]] = [
        Pattern("secret url parameter", rf"{_SECRET_PARAM}[^\s&#\"'<>;]{{8,}}", 0.8),
    ]


class HeaderSecretRecognizer(_PatternSecret):
    """`Authorization: Basic ...` and a Slack webhook URL's secret part."""

    needs = staticmethod(any_word("authorization", "hooks.slack"))
    PATTERNS: ClassVar[list[Pattern]] = [
        Pattern("basic auth", r"(?<=\bauthorization:?\s*basic\s+)[A-Za-z0-9+/]{8,}={0,2}", 0.8),
        Pattern("slack webhook", r"(?<=hooks\.slack\.com/services/T[A-Z0-9]+/B[A-Z0-9]+/)[A-Za-z0-9]{16,}", 0.9),
    ]


_WRAPPED_REST = re.compile(r"\r?\n([A-Za-z0-9_\-]{6,})(?=\s|$)")


def _continues(rest: str) -> bool:
    """The first word of the next line reads as the tail of a token, not as a word of the sentence."""
    return any(c.isdigit() for c in rest) or (any(c.isupper() for c in rest[1:]) and any(c.islower() for c in rest))


def entropy(word: str) -> float:
    """Shannon entropy, bits per character."""
    counts = Counter(word)
    return -sum(n / len(word) * math.log2(n / len(word)) for n in counts.values())


# A candidate stops at `=` (a `key=value` pair is two words; base64 padding stays on) and at `&` before a
# query parameter (`id=48213&color=blue`).
_CANDIDATE = re.compile(r"(?<![\w/@.:+\-])(?:[A-Za-z0-9_+/#!$%^*~\-]|&(?![A-Za-z_][\w\-]{0,40}=)){12,}={0,3}(?![\w@])")
_HEX = re.compile(r"[0-9a-fA-F]{32,}")
# Identifiers, not secrets: a UUID (order, request and trace ids; a UUID after a secret label is still masked by
# ApiKeyRecognizer), a CamelCase class name with a version digit.
_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
_CAMEL = re.compile(r"(?:[A-Z][a-z]+|[A-Z]{2,}(?=[A-Z][a-z]|\d|$))+\d{0,3}")
# A hex digest named as one (a git commit, a file checksum) is a reference, not a credential; image/font data in a
# data: URI is content.
# The digest word may come a few words before ("md5 of the export file is ..."), but not with a secret word between.
_DIGEST_BEFORE = re.compile(r"(?:\bcommit|\bsha(?:-?1|-?256|-?512)?|\bhash|\bchecksum|\bmd5|\brevision|\brev|"
                            r"коммит\w*|хе?э?ш\w*|контрольн\w+\s+сумм\w+)"
                            r"(?:\s+(?!(?:api|secret|token|key|password|pass|пароль|ключ|токен|секрет)\b)[\w\-]{1,12}){0,5}"
                            r"\s*[:=#]?\s*\Z", re.IGNORECASE)
_DATA_URI_BEFORE = re.compile(r"data:(?:image|audio|video|font)/[\w.+\-]+;base64,\Z", re.IGNORECASE)


def random_looking(word: str) -> bool:
    """A token, password or key rather than a word, an identifier, a path or a product code."""
    word = word.rstrip(".,;:!?-")
    if len(word) < 12 or "://" in word or word.startswith("/") or _UUID.fullmatch(word) or _CAMEL.fullmatch(word):
        return False
    if _HEX.fullmatch(word):
        return any(c.isalpha() for c in word) and any(c.isdigit() for c in word)
    lower = sum(c.islower() for c in word)
    upper = sum(c.isupper() for c in word)
    digits = sum(c.isdigit() for c in word)
    symbols = len(word) - lower - upper - digits
    parts = [p for p in re.split(r"[-_]", word) if p]
    if len(parts) > 1 and all(len(p) <= 6 for p in parts):
        return False  # GIFT-2024-XK71, SKU-4471-B, INV-2024-0042: dash-grouped codes
    if "_" in word and lower and not upper and not digits:
        return False  # snake_case identifier
    classes = sum(1 for n in (lower, upper, digits, symbols) if n)
    if symbols and classes >= 3 and len(word) >= 12:
        return entropy(word) >= 3.2
    if not upper and lower and digits and len(word) >= 20:
        # lower case and digits (Mailgun-style keys, base36 tokens): only long ones with many letter/digit switches
        switches = sum(1 for a, b in itertools.pairwise(word) if _cls(a) != _cls(b))
        return entropy(word) >= 3.8 and switches >= len(word) / 4
    if len(word) < 16 or not (lower and upper and digits):
        return False
    # Mixed case with digits: tokens switch case and digits often; words and CamelCase names do not.
    switches = sum(1 for a, b in itertools.pairwise(word) if _cls(a) != _cls(b))
    return entropy(word) >= 3.5 and switches >= len(word) / 4


def _cls(c: str) -> int:
    return 0 if c.islower() else 1 if c.isupper() else 2 if c.isdigit() else 3


class HighEntropyRecognizer(LocalRecognizer):
    """Long random-looking words nobody wrote by hand: keys, tokens, passwords of unknown shape."""

    def __init__(self, supported_language: str) -> None:
        super().__init__(supported_entities=["API_KEY"], supported_language=supported_language,
                         name=f"HighEntropy_{supported_language}")

    def load(self) -> None:
        return None

    def analyze(self, text: str, entities: list[str], nlp_artifacts: object = None) -> list[RecognizerResult]:
        if "API_KEY" not in entities:
            return []
        out = []
        for m in _CANDIDATE.finditer(text):
            word = m.group().rstrip(".,;:!?-")
            before = text[max(0, m.start() - 40):m.start()]
            if text.startswith("=", m.end()) and not word.endswith("="):
                continue  # a parameter's name (`X-Amz-Credential=`)
            if (_HEX.fullmatch(word) and _DIGEST_BEFORE.search(before)) or _DATA_URI_BEFORE.search(before):
                continue
            if random_looking(word):
                out.append(found(self, "API_KEY", m.start(), m.start() + len(word), 0.6))
        return out
