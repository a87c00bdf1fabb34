"""IBANs as people type them in chat: lower case and spaced in groups ('de89 3704 0044 0532 0130 00',
'gb82 west 1234 5698 7654 32'), checked with mod 97. Presidio's IbanRecognizer takes the upper-case forms."""

from __future__ import annotations

import re

from presidio_analyzer import LocalRecognizer, RecognizerResult

from core.pii.results import found

# a country code, two check digits, then 11-30 letters and digits, in groups of four or none
_CANDIDATE = re.compile(r"(?<![\w\-])[a-z]{2}\d{2}(?:[ ]?[a-z0-9]{4}){2,7}(?:[ ]?[a-z0-9]{1,4})?(?![\w\-])",
                        re.IGNORECASE)
_PRECHECK = re.compile(r"[a-z]{2}\d{2}", re.IGNORECASE)
# Not Presidio's IbanRecognizer.validate_result: without exact_match it checks only a prefix of the value (no
# length), and with it Portugal's pattern has 21 characters where ISO 13616 has 25 (valid PT IBANs rejected).
# Length of each country's IBAN (ISO 13616 registry); a candidate must have its country's length, ten digits or
# more and mod 97 == 1, so that words after a code ("ab12 that does work") are never one.
_LENGTHS = dict(item.split(":") for item in (
    "AD:24 AE:23 AL:28 AT:20 AZ:28 BA:20 BE:16 BG:22 BH:22 BR:29 BY:28 CH:21 CR:22 CY:28 CZ:24 DE:22 DK:18 DO:28 "
    "EE:20 EG:29 ES:24 FI:18 FO:18 FR:27 GB:22 GE:22 GI:23 GL:18 GR:27 GT:28 HR:21 HU:28 IE:22 IL:23 IQ:23 IS:26 "
    "IT:27 JO:30 KW:30 KZ:20 LB:28 LC:32 LI:21 LT:20 LU:20 LV:21 MC:27 MD:24 ME:22 MK:19 MR:27 MT:31 MU:30 NL:18 "
    "NO:15 PK:24 PL:28 PS:29 PT:25 QA:29 RO:24 RS:22 SA:24 SC:31 SE:24 SI:19 SK:24 SM:27 ST:25 SV:28 TL:23 TN:24 "
    "TR:26 UA:29 VA:22 VG:24 XK:20").split())


def valid_iban(value: str) -> bool:
    compact = value.replace(" ", "").upper()
    if _LENGTHS.get(compact[:2]) != str(len(compact)) or sum(c.isdigit() for c in compact) < 10:
        return False
    moved = compact[4:] + compact[:4]
    return int("".join(str(int(c, 36)) for c in moved)) % 97 == 1


def _longest_valid(value: str) -> int:
    """The length of the longest valid IBAN the candidate starts with (0 when none): a trailing word of four
    letters ('… 0130 00 mine') may have joined the candidate."""
    parts = value.split(" ")
    for n in range(len(parts), 0, -1):
        prefix = " ".join(parts[:n])
        if valid_iban(prefix):
            return len(prefix)
    return 0


class ChatIbanRecognizer(LocalRecognizer):
    def __init__(self, supported_language: str) -> None:
        super().__init__(supported_entities=["IBAN_CODE"], supported_language=supported_language,
                         name=f"ChatIban_{supported_language}")

    def load(self) -> None:
        return None

    def analyze(self, text: str, entities: list[str], nlp_artifacts: object = None) -> list[RecognizerResult]:
        if "IBAN_CODE" not in entities or not _PRECHECK.search(text):
            return []
        out = []
        for m in _CANDIDATE.finditer(text):
            if m.group().isupper():
                continue  # Presidio's recognizer has it
            length = _longest_valid(m.group())
            if length:
                out.append(found(self, "IBAN_CODE", m.start(), m.start() + length, 0.8))
        return out
