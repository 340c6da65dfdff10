"""Language id with lingua: en / ru / uk, everything else "other"."""

from __future__ import annotations

from functools import lru_cache

from lingua import Language, LanguageDetector, LanguageDetectorBuilder

SUPPORTED = {Language.ENGLISH: "en", Language.RUSSIAN: "ru", Language.UKRAINIAN: "uk"}
# Near neighbours are included so that, e.g., Belarusian or German text is not forced into en/ru/uk.
_CANDIDATES = [
    *SUPPORTED,
    Language.BELARUSIAN,
    Language.BULGARIAN,
    Language.KAZAKH,
    Language.GERMAN,
    Language.FRENCH,
    Language.SPANISH,
    Language.PORTUGUESE,
    Language.ITALIAN,
    Language.POLISH,
    Language.DUTCH,
    Language.TURKISH,
]


@lru_cache(maxsize=1)
def _detector() -> LanguageDetector:
    return LanguageDetectorBuilder.from_languages(*_CANDIDATES).with_minimum_relative_distance(0.05).build()


def detect(text: str) -> str:
    """'en', 'ru', 'uk' or 'other' (also for text too short or ambiguous to tell)."""
    from sentiment.normalize import strip_for_langid

    cleaned = strip_for_langid(text)
    if len(cleaned) < 3:
        return "other"
    lang = _detector().detect_language_of(cleaned)
    return SUPPORTED.get(lang, "other") if lang is not None else "other"


def detect_many(texts: list[str]) -> list[str]:
    from sentiment.normalize import strip_for_langid

    cleaned = [strip_for_langid(t) for t in texts]
    found = _detector().detect_languages_in_parallel_of(cleaned)
    return [
        SUPPORTED.get(lang, "other") if lang is not None and len(c) >= 3 else "other"
        for lang, c in zip(found, cleaned, strict=True)
    ]
