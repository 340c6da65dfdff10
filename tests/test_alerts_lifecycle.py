"""Alerts that reach people and move open → acknowledged → resolved: delivery wired into detection, escalation and
resolution follow-ups, auto-resolve after a calm spell, the cooldown, and `alerts list|ack|resolve`."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, select
from typer.testing import CliRunner

import alerts.check
from alerts.cycle import alert_cycle
from alerts.delivery.posting import RateLimiter
from brandpulse.cli import app
from brandpulse.config import Settings
from brandpulse.errors import InputError
from brandpulse.store.alerts import ALERT_STATES, stored_alerts
from brandpulse.store.engine import session_scope
from brandpulse.store.outbox import deliveries_for, record_alert
from brandpulse.store.schema import AlertRow
from brandpulse.types import utcnow
from tests.alertfeed import Feed
from tests.conftest import T0
from tests.slackfake import SlackState, fake_slack

runner = CliRunner()
EPISODE = 100


def settings(**alerts: Any) -> Settings:
    return Settings(alerts=alerts, delivery={"public_url": "https://brandpulse.example.com"})


def cycle(engine: Engine, s: Settings) -> Any:
    return alert_cycle(engine, s, model_key="m@r", sleep=lambda _s: None, limiter=RateLimiter(0.0))


def events(slack: SlackState) -> list[str]:
    return [r.payload["blocks"][0]["text"]["text"].split(" · ")[0] for r in slack.accepted]


@pytest.fixture
def slack_env(monkeypatch: pytest.MonkeyPatch) -> Any:
    with fake_slack() as (url, slack):
        monkeypatch.setenv("BRANDPULSE_SLACK_WEBHOOK_URL", url)
        yield slack


def db(engine: Engine) -> str:
    return engine.url.render_as_string(hide_password=False)


def only_alert(engine: Engine) -> Any:
    found = stored_alerts(engine, ALERT_STATES)
    assert len(found) == 1
    return found[0]


def test_an_episode_is_delivered_once_with_its_top_posts_then_auto_resolved_after_the_calm(
        engine: Engine, slack_env: SlackState) -> None:
    s = settings(auto_resolve_hours=4)
    feed = Feed(engine, calm=10)
    feed.hours(range(EPISODE))
    assert cycle(engine, s).sent.claimed == 0
    feed.hours([EPISODE], {EPISODE: 9})
    res = cycle(engine, s)
    assert res.check is not None and res.check.new == 1 and res.sent.sent == 1
    msg = slack_env.accepted[0]
    text = msg.all_text()
    assert "Nimbus" in text and "outage again, refund now" in text  # a top post read from the store
    assert "<!channel>" not in text and "&lt;!channel&gt;" in text  # post text cannot ping
    assert "?page=Alerts&alert=" in text.replace("&amp;", "&")

    for h in range(EPISODE + 1, EPISODE + 4):  # calm hours, but not yet for auto_resolve_hours
        feed.hours([h])
        cycle(engine, s)
    assert only_alert(engine).state == "open" and len(slack_env.accepted) == 1
    for h in range(EPISODE + 4, EPISODE + 6):
        feed.hours([h])
        cycle(engine, s)
    alert = only_alert(engine)
    assert (alert.state, alert.resolved_by) == ("resolved", "auto") and alert.resolved_at is not None
    assert events(slack_env) == [events(slack_env)[0], "Resolved"]
    assert len({r.idempotency_key for r in slack_env.accepted}) == 2
    for h in range(EPISODE + 6, EPISODE + 8):  # later passes send nothing more
        feed.hours([h])
        cycle(engine, s)
    assert len(slack_env.accepted) == 2


def test_escalation_of_an_open_alert_sends_one_follow_up(engine: Engine, slack_env: SlackState) -> None:
    s = settings()
    feed = Feed(engine, calm=10)
    feed.hours(range(EPISODE))
    cycle(engine, s)
    now = utcnow()
    record_alert(engine, AlertRow(brand="Nimbus", rule="negativity_spike", window_start=T0 + timedelta(hours=EPISODE),
                                  window_end=T0 + timedelta(hours=EPISODE + 1), severity="warning", metrics={"negative": 5},
                                  evidence={"why": "earlier pass"}, state="open", created_at=now, updated_at=now),
                 ["slack"])
    cycle(engine, s)  # the warning goes out
    feed.hours([EPISODE, EPISODE + 1], {EPISODE: 9, EPISODE + 1: 40})
    res = cycle(engine, s)
    assert res.check is not None and res.check.new == 0 and list(res.check.outcomes.values()) == ["escalated"]
    assert only_alert(engine).severity == "critical"
    assert [e.split(" ")[0] for e in events(slack_env)] == ["WARNING", "Escalated"]
    feed.hours([EPISODE + 2], {EPISODE + 2: 40})
    cycle(engine, s)
    assert len(slack_env.accepted) == 2  # still critical: nothing new to announce


def test_within_the_cooldown_a_resolved_alert_reopens_without_paging_and_after_it_a_new_alert_pages(
        engine: Engine, slack_env: SlackState) -> None:
    s = settings(cooldown_hours=12, auto_resolve_hours=48)
    feed = Feed(engine, calm=10)
    feed.hours(range(EPISODE))
    feed.hours([EPISODE], {EPISODE: 9})
    cycle(engine, s)
    first = only_alert(engine)
    res = runner.invoke(app, ["alerts", "resolve", str(first.id), "--by", "ana"], env={"BRANDPULSE_DATABASE_URL":
                                                                                       db(engine)})
    assert res.exit_code == 0, res.output
    cycle(engine, s)
    assert events(slack_env)[1] == "Resolved"
    feed.hours(range(EPISODE + 1, EPISODE + 5), {EPISODE + 4: 9})  # the same episode flares up again
    res2 = cycle(engine, s)
    assert res2.check is not None and list(res2.check.outcomes.values()) == ["reopened"]
    alert = only_alert(engine)
    assert (alert.id, alert.state, alert.resolved_by) == (first.id, "open", None)
    assert len(slack_env.accepted) == 2  # no second page for one episode

    feed.hours(range(EPISODE + 5, EPISODE + 40), {EPISODE + 39: 9})  # well after the cooldown: a new episode
    cycle(engine, s)
    assert len(stored_alerts(engine, ALERT_STATES)) == 2
    assert len(slack_env.accepted) == 3


def test_an_alert_and_its_deliveries_are_written_together(engine: Engine, slack_env: SlackState,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    feed = Feed(engine, calm=10)
    feed.hours(range(EPISODE))
    feed.hours([EPISODE], {EPISODE: 9})

    def broken(*_a: Any, **_k: Any) -> None:
        raise RuntimeError("outbox write failed")

    original = alerts.check.add_alert
    monkeypatch.setattr(alerts.check, "add_alert", broken)
    with pytest.raises(RuntimeError):
        cycle(engine, settings())
    with session_scope(engine) as ses:
        assert list(ses.scalars(select(AlertRow))) == []
    monkeypatch.setattr(alerts.check, "add_alert", original)
    cycle(engine, settings())  # the changed hours were kept: the next pass raises and sends it
    assert [(d.event, d.status) for d in deliveries_for(engine)] == [("opened", "sent")]
    assert len(slack_env.accepted) == 1


def test_cli_lists_acknowledges_and_resolves_with_who_and_when(engine: Engine, slack_env: SlackState) -> None:
    env = {"BRANDPULSE_DATABASE_URL": db(engine)}
    feed = Feed(engine, calm=10)
    feed.hours(range(EPISODE))
    feed.hours([EPISODE], {EPISODE: 9})
    cycle(engine, settings())
    alert = only_alert(engine)

    out = runner.invoke(app, ["alerts", "list", "--json"], env=env)
    assert out.exit_code == 0, out.output
    listed = json.loads(out.output.strip().splitlines()[-1])
    assert [(a["id"], a["state"], a["brand"]) for a in listed] == [(alert.id, "open", "Nimbus")]

    assert runner.invoke(app, ["alerts", "ack", str(alert.id), "--by", "[bold]ana[/]"], env=env).exit_code == 0
    out = runner.invoke(app, ["alerts", "list", "--state", "acknowledged", "--json"], env=env)
    got = json.loads(out.output.strip().splitlines()[-1])[0]
    assert got["acknowledged_by"] == "[bold]ana[/]" and got["acknowledged_at"] is not None
    assert "[bold]ana[/]" in out.output  # printed literally, not as markup

    assert runner.invoke(app, ["alerts", "resolve", str(alert.id), "--by", "bob"], env=env).exit_code == 0
    assert json.loads(runner.invoke(app, ["alerts", "list", "--json"], env=env).output.strip().splitlines()[-1]) == []
    got = json.loads(runner.invoke(app, ["alerts", "list", "--state", "resolved", "--json"], env=env)
                     .output.strip().splitlines()[-1])[0]
    assert (got["state"], got["resolved_by"], got["acknowledged_by"]) == ("resolved", "bob", "[bold]ana[/]")

    late_ack = runner.invoke(app, ["alerts", "ack", str(alert.id), "--by", "carl"], env=env)
    # user errors (the entry point prints them without a traceback, exit 2)
    assert isinstance(late_ack.exception, InputError) and "already resolved (by bob)" in str(late_ack.exception)
    missing = runner.invoke(app, ["alerts", "resolve", "9999", "--by", "carl"], env=env)
    assert isinstance(missing.exception, InputError) and "no alert 9999" in str(missing.exception)
    bad = runner.invoke(app, ["alerts", "list", "--state", "closed"], env=env)
    assert isinstance(bad.exception, InputError) and "--state" in str(bad.exception)
    cycle(engine, settings())
    assert events(slack_env)[-1] == "Resolved" and len(slack_env.accepted) == 2


def test_each_resolution_of_a_reopened_alert_sends_its_own_follow_up_once(engine: Engine,
                                                                          slack_env: SlackState) -> None:
    s = settings(cooldown_hours=12, auto_resolve_hours=3)
    env = {"BRANDPULSE_DATABASE_URL": db(engine)}
    feed = Feed(engine, calm=10)
    feed.hours(range(EPISODE))
    feed.hours([EPISODE], {EPISODE: 9})
    cycle(engine, s)
    first = only_alert(engine)
    assert runner.invoke(app, ["alerts", "resolve", str(first.id), "--by", "ana"], env=env).exit_code == 0
    cycle(engine, s)
    feed.hours(range(EPISODE + 1, EPISODE + 5), {EPISODE + 4: 9})  # the same episode flares up: reopened, no page
    cycle(engine, s)
    assert only_alert(engine).state == "open" and len(slack_env.accepted) == 2
    for h in range(EPISODE + 5, EPISODE + 9):  # calm again: resolved a second time, by the run loop
        feed.hours([h])
        cycle(engine, s)
    alert = only_alert(engine)
    assert (alert.id, alert.state, alert.resolved_by) == (first.id, "resolved", "auto")
    assert events(slack_env) == [events(slack_env)[0], "Resolved", "Resolved"]
    assert len({r.idempotency_key for r in slack_env.accepted}) == 3
    # later passes, a repeated resolve and a restarted sender announce nothing more
    assert runner.invoke(app, ["alerts", "resolve", str(first.id), "--by", "ana"], env=env).exit_code == 0
    for h in range(EPISODE + 9, EPISODE + 11):
        feed.hours([h])
        cycle(engine, s)
    assert runner.invoke(app, ["alerts", "send"], env=env).exit_code == 0
    assert len(slack_env.accepted) == 3
    assert sorted(d.event for d in deliveries_for(engine)) == ["opened", "resolved", "resolved:2"]
    assert {d.status for d in deliveries_for(engine)} == {"sent"}


def test_an_escalation_after_a_reopen_is_announced_once(engine: Engine, slack_env: SlackState) -> None:
    s = settings(cooldown_hours=12, auto_resolve_hours=48)
    env = {"BRANDPULSE_DATABASE_URL": db(engine)}
    feed = Feed(engine, calm=10)
    feed.hours(range(EPISODE))
    cycle(engine, s)
    now = utcnow()
    first = record_alert(engine, AlertRow(brand="Nimbus", rule="negativity_spike", window_start=T0 + timedelta(hours=EPISODE),
                                          window_end=T0 + timedelta(hours=EPISODE + 1), severity="warning",
                                          metrics={"negative": 5}, evidence={"why": "earlier pass"}, state="open",
                                          created_at=now, updated_at=now), ["slack"])
    cycle(engine, s)  # the warning goes out
    assert runner.invoke(app, ["alerts", "resolve", str(first), "--by", "ana"], env=env).exit_code == 0
    feed.hours(range(EPISODE, EPISODE + 4), {EPISODE + 3: 9})  # back within the cooldown, and worse
    res = cycle(engine, s)
    assert res.check is not None and list(res.check.outcomes.values()) == ["escalated"]
    alert = only_alert(engine)
    assert (alert.id, alert.state, alert.severity) == (first, "open", "critical")
    feed.hours([EPISODE + 4], {EPISODE + 4: 9})
    cycle(engine, s)
    assert runner.invoke(app, ["alerts", "send"], env=env).exit_code == 0
    assert [e.split(" ")[0] for e in events(slack_env)] == ["WARNING", "Resolved", "Escalated"]
    assert sorted(d.event for d in deliveries_for(engine)) == ["escalated:critical", "opened", "resolved"]
