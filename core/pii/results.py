"""The result one of our own recognizers reports: Presidio's `RecognizerResult`, tagged with the recognizer's name
and id the way Presidio's own recognizers tag theirs (the context enhancer and `outermost` read them)."""

from __future__ import annotations

from presidio_analyzer import EntityRecognizer, RecognizerResult


def found(recognizer: EntityRecognizer, entity: str, start: int, end: int, score: float) -> RecognizerResult:
    return RecognizerResult(entity, start, end, score, recognition_metadata={
        RecognizerResult.RECOGNIZER_NAME_KEY: recognizer.name,
        RecognizerResult.RECOGNIZER_IDENTIFIER_KEY: recognizer.id})
