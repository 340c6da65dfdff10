"""The detector's evaluation: a generated replay with planted episodes and a weekly rhythm, scored with
the texts' own labels (an oracle model, so the figures measure the detector, not the model)."""

from __future__ import annotations

from pathlib import Path

from alerts.eval_stream import LabelledText, build_replay, compare, evaluate, load_labelled
from brandpulse.config import AlertRuleConfig

POOL = [LabelledText(f"nimbus dropped my calls again {i}", "negative") for i in range(30)] + [
    LabelledText(f"nimbus works fine today {i}", "neutral") for i in range(30)] + [
    LabelledText(f"love the new nimbus plan {i}", "positive") for i in range(30)]


def test_planted_episodes_are_found_and_the_weekly_rhythm_pages_only_the_trailing_rule() -> None:
    res = compare(POOL, weeks=5, seed=1)
    current, trailing = res["current"], res["trailing_window"]
    assert current.episodes == trailing.episodes == 3
    assert current.detected == current.episodes
    assert current.median_delay_h is not None and current.median_delay_h <= 3
    # a day of twice the mentions at the usual share: invisible to a share-only rule
    assert current.detected_by_kind.get("surge", 0) >= 1 and trailing.detected_by_kind.get("surge", 0) == 0
    assert current.false_alarms_on_weekly_rhythm == 0 < trailing.false_alarms_on_weekly_rhythm
    assert current.false_alarms_per_week <= trailing.false_alarms_per_week


def test_episodes_are_planted_where_the_replay_says_and_the_rollups_follow_the_labels(tmp_path: Path) -> None:
    replay = build_replay(POOL, weeks=4, seed=3)
    assert len(replay.episodes) == 2 and all(ep.start >= replay.start for ep in replay.episodes)
    roll = replay.rollups()
    assert roll["count"].sum() == len(replay.rows)
    negatives = sum(1 for r in replay.rows if r["label"] == "negative")
    assert roll.loc[roll["sentiment"] == "negative", "count"].sum() == negatives
    # no episode, no rhythm: nothing to find, nothing found
    quiet = build_replay(POOL, weeks=4, seed=3, episodes_per_week=0, rhythm=False)
    quiet.episodes.clear()
    assert evaluate(quiet, {"current": AlertRuleConfig()})["current"].false_alarms == 0
    path = tmp_path / "labelled.csv"
    path.write_text("text,label,lang\nbad nimbus,negative,en\nok,neutral,en\nskip me,unknown,en\n", encoding="utf-8")
    assert [t.label for t in load_labelled(path)] == ["negative", "neutral"]
    replay.write_csv(tmp_path / "replay.csv")
    assert (tmp_path / "replay.csv").read_text(encoding="utf-8").startswith("id,created_at,author,text,brand")
