"""The Overview's social NPS per brand and period (advocates.lists.nps_change) on the real store: the same number the
advocates stage's weekly social NPS gives for that period, the change against the period before, "too few to say"
below `[advocates] nps_min_authors`, a brand's own account left out."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import Engine

from advocates.lists import nps_change, nps_trend
from brandpulse.config import BrandConfig, Settings
from brandpulse.store.mentions import insert_mentions
from tests.conftest import T0, make_mention, score_all

WEEK = timedelta(weeks=1)
# T0 is a Monday: the two periods below are calendar weeks, so the advocates' weekly NPS has one row for each
PREV, NOW, END = T0, T0 + WEEK, T0 + 2 * WEEK
SETTINGS = Settings(brands=[BrandConfig(name="Nimbus", handles=["@NimbusHQ"]), BrandConfig(name="Orbita")])

# (author, week, labels of their Nimbus posts that week)
POSTS = [
    # this week: 3 promoters, 1 passive, 2 detractors (and the brand's own account, never counted)
    ("p1", 1, "++"), ("p2", 1, "+"), ("p3", 1, "+++"), ("q1", 1, "+-"), ("d1", 1, "-"), ("d2", 1, "--+"),
    ("NimbusHQ", 1, "++++"),
    # the week before: 1 promoter, 4 detractors (p1 changed its mind: classed on each week's posts)
    ("p2", 0, "+"), ("p1", 0, "-"), ("q1", 0, "--"), ("d1", 0, "-"), ("d2", 0, "-"),
]


def _seed(engine: Engine) -> None:
    ms, i = [], 0
    for author, week, labels in POSTS:
        for k, lab in enumerate(labels):
            word = "love" if lab == "+" else "hate"
            ms.append(make_mention(i, text=f"{word} Nimbus {i}", author=author, hours=week * 168 + 24 + 5 * k + i / 60))
            i += 1
    for k, author in enumerate(("o1", "o2")):  # Orbita: two authors, too few to say
        ms.append(make_mention(100 + k, brand="Orbita", text=f"love Orbita {k}", author=author, hours=168 + 30))
    insert_mentions(engine, ms)
    score_all(engine, lambda t: "positive" if t.startswith("love") else "negative")


def test_period_nps_equals_the_advocates_weekly_nps_and_the_change_against_the_week_before(engine: Engine) -> None:
    _seed(engine)
    (nimbus, orbita) = nps_change(engine, SETTINGS, ["Nimbus", "Orbita"], since=NOW, until=END, model_key="m@r")
    weekly = {w.week: w for w in nps_trend(engine, SETTINGS, "Nimbus", since=PREV, until=END, model_key="m@r")}
    assert set(weekly) == {PREV, NOW}
    # what the advocates stage says for each of the two weeks …
    assert (weekly[NOW].promoters, weekly[NOW].passives, weekly[NOW].detractors) == (3, 1, 2)
    assert (weekly[PREV].promoters, weekly[PREV].passives, weekly[PREV].detractors) == (1, 0, 4)
    # … is what the Overview gets, by hand: 100 × (3 − 2) / 6 and 100 × (1 − 4) / 5
    assert nimbus.nps == weekly[NOW].nps == 16.7 and nimbus.authors == 6
    assert nimbus.prev_nps == weekly[PREV].nps == -60.0 and nimbus.prev_authors == 5
    assert nimbus.change == 76.7
    assert orbita.brand == "Orbita" and orbita.nps is None and orbita.authors == 2 and orbita.change is None


def test_a_shorter_period_compares_with_the_same_length_before_it_and_says_too_few_when_authors_are_few(
        engine: Engine) -> None:
    _seed(engine)
    # the first two days of this week hold p1, p2, p3, q1, d1 and d2's posts (all posted on day 1), the two days
    # before hold nothing: nothing to compare with
    (nimbus,) = nps_change(engine, SETTINGS, ["Nimbus"], since=NOW, until=NOW + timedelta(days=2), model_key="m@r")
    assert nimbus.nps == 16.7 and nimbus.prev_nps is None and nimbus.prev_authors == 0 and nimbus.change is None
    strict = Settings(brands=SETTINGS.brands, advocates={"nps_min_authors": 7})
    (nimbus,) = nps_change(engine, strict, ["Nimbus"], since=NOW, until=END, model_key="m@r")
    assert nimbus.nps is None and nimbus.prev_nps is None and nimbus.authors == 6


def test_a_brand_the_settings_do_not_know_is_left_out(engine: Engine) -> None:
    _seed(engine)
    assert [c.brand for c in nps_change(engine, SETTINGS, ["Kestrel", "Nimbus"], since=NOW, until=END,
                                        model_key="m@r")] == ["Nimbus"]
