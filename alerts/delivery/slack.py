"""Slack destination: an alert as a Block Kit message posted through an incoming webhook (slack_sdk WebhookClient).

The message: a header (severity, brand, window), the metrics against the baseline and why the alert fired, the top
negative posts as quoted text with links, the top authors, rising terms and emotions, a link to the alert in the
dashboard, and a footer with the idempotency key. Follow-ups (escalated, resolved) are shorter messages of their own.

Slack's documented limits are kept: ≤ 50 blocks, header text ≤ 150 characters, section text ≤ 3,000, ≤ 10 section
fields of ≤ 2,000, fallback text cut at 3,000; long texts are cut at a word boundary with "…". Text from posts goes
through `escape.inert`, so it cannot ping, link or format. Posting honours 1 message per second per webhook, 429
`Retry-After`, and retries 5xx/timeouts/dropped connections with backoff (alerts.delivery.posting).

Incoming webhooks have no idempotency support, so a sender that dies after Slack accepted a post but before the row
was marked sent causes one duplicate after the lease expires; it carries the same key (footer "ref …" and the
`Idempotency-Key` request header) as the first, so the two are recognisably the same delivery.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from slack_sdk.webhook import WebhookClient

from alerts.delivery.escape import cut, escape_text, inert, link, quote_block
from alerts.delivery.message import AlertMessage
from alerts.delivery.posting import (
    Destination,
    Outcome,
    Reply,
    parse_retry_after,
    protect,
    redact,
)

MAX_BLOCKS = 50
MAX_HEADER = 150
MAX_SECTION = 3000
MAX_FIELDS = 10
MAX_FIELD = 2000
MAX_FALLBACK = 3000
MAX_POSTS = 5

_ICON = {"notice": ":large_blue_circle:", "warning": ":large_orange_circle:", "critical": ":red_circle:"}


def _window(start: datetime, end: datetime) -> str:
    if start.date() == end.date():
        return f"{start:%d %b %Y %H:%M}–{end:%H:%M} UTC"
    return f"{start:%d %b %H:%M} – {end:%d %b %Y %H:%M} UTC"


def _header(msg: AlertMessage) -> str:
    kind = msg.event_kind
    sev = msg.severity.upper()
    if kind == "resolved":
        lead = f"Resolved · {msg.brand}"
    elif kind == "escalated":
        lead = f"Escalated to {sev} · {msg.brand}"
    else:
        lead = f"{sev} · {msg.brand} negativity alert"
    return cut(f"{lead} · {_window(msg.window_start, msg.window_end)}", MAX_HEADER)


def _num(v: Any) -> str:
    if isinstance(v, float) and 0 < abs(v) < 0.01:  # p-values: 2.6e-09, not 0
        return f"{v:.2g}"
    if isinstance(v, float):
        return f"{v:.2f}".rstrip("0").rstrip(".") if abs(v) < 1000 else f"{v:,.0f}"
    return f"{v:,}" if isinstance(v, int) else escape_text(str(v))


def metric_fields(metrics: dict[str, Any]) -> list[str]:
    """The metrics against the baseline, as short mrkdwn fields."""
    m = dict(metrics)
    out: list[str] = []
    if "negative" in m:
        usual = m.pop("baseline_negative_per_hour", None)
        peak = m.pop("peak_negative_per_hour", None)
        line = f"*Negative posts*\n{_num(m.pop('negative'))}"
        if peak is not None:
            line += f" (peak {_num(peak)}/h" + (f" vs {_num(usual)}/h usual)" if usual is not None else ")")
        out.append(line)
    if "negative_share" in m:
        share = m.pop("negative_share")
        base = m.pop("baseline_share", None)
        line = f"*Negative share*\n{share:.0%}" if isinstance(share, int | float) else f"*Negative share*\n{_num(share)}"
        if isinstance(base, int | float):
            line += f" vs {base:.0%} baseline"
        out.append(line)
    if "total" in m:
        out.append(f"*Mentions*\n{_num(m.pop('total'))}")
    for k, v in m.items():
        if isinstance(v, int | float | str):
            out.append(f"*{escape_text(k.replace('_', ' ').capitalize())}*\n{_num(v)}")
    return [cut(f, MAX_FIELD) for f in out[:MAX_FIELDS]]


def _section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": cut(text, MAX_SECTION)}}


def _post_block(p: Any) -> dict[str, Any]:
    who = f"@{p.author}" + (f" on {p.platform}" if p.platform else "")
    if p.followers:
        who += f" ({p.followers:,} followers)"
    tail = "\n— " + link(p.url, who)
    body = quote_block(p.text, MAX_SECTION - len(tail))
    return _section(body + tail)


def build_payload(msg: AlertMessage, idempotency_key: str) -> dict[str, Any]:
    """The webhook JSON body (`text` fallback + `blocks`) for one delivery, within Slack's limits."""
    blocks: list[dict[str, Any]] = [{"type": "header", "text": {"type": "plain_text", "text": _header(msg), "emoji": True}}]
    kind = msg.event_kind
    icon = _ICON.get(msg.severity, "")
    if kind == "resolved":
        blocks.append(_section(f":white_check_mark: The {escape_text(msg.rule)} alert for *{escape_text(msg.brand)}* "
                               f"is resolved (was {escape_text(msg.severity)})."))
    else:
        lead = f"{icon} *{escape_text(msg.brand)}*: {escape_text(msg.why) or escape_text(msg.rule)}"
        if kind == "escalated":
            lead = f":arrow_up: Severity is now *{escape_text(msg.severity)}*. " + lead
        blocks.append(_section(lead))
        fields = metric_fields(msg.metrics)
        if fields:
            blocks.append({"type": "section", "fields": [{"type": "mrkdwn", "text": f} for f in fields]})
        if msg.posts:
            blocks.append({"type": "divider"})
            blocks.append(_section("*Top negative posts*"))
            blocks.extend(_post_block(p) for p in msg.posts[:MAX_POSTS])
        extra: list[str] = []
        if msg.authors:
            names = []
            for a in msg.authors[:5]:
                handle = inert(str(a.get("author_handle") or a.get("handle") or "?"))
                n = a.get("negative_posts") or a.get("posts")
                names.append(f"@{handle}" + (f" ({_num(n)} posts)" if n else ""))
            extra.append("*Top authors:* " + ", ".join(names))
        if msg.terms:
            extra.append("*Rising terms:* " + ", ".join(inert(t) for t in msg.terms[:10]))
        if msg.emotions:
            top = sorted(msg.emotions.items(), key=lambda kv: -kv[1])[:4]
            extra.append("*Emotions:* " + ", ".join(f"{inert(k)} {v:.0%}" if v else inert(k) for k, v in top))
        if extra:
            blocks.append(_section("\n".join(extra)))
    if msg.dashboard_url:
        blocks.append(_section(link(msg.dashboard_url, "Open the alert in the dashboard")))
    footer = {"type": "context", "elements": [
        {"type": "mrkdwn", "text": cut(f"brandpulse · alert {msg.alert_id} · ref {idempotency_key}", MAX_SECTION)}]}
    blocks = [*blocks[:MAX_BLOCKS - 1], footer]
    fallback = f"{msg.severity.upper()} {msg.event_kind} alert for {msg.brand}: {msg.why or msg.rule}"
    return {"text": cut(escape_text(fallback), MAX_FALLBACK), "blocks": blocks}


def _quiet_logger(url: str) -> logging.Logger:
    """slack_sdk logs the webhook URL at DEBUG/INFO and every transient fault at ERROR: give it a logger that passes
    only CRITICAL (the sender logs each outcome itself), with URLs redacted."""
    logger = logging.getLogger("alerts.delivery.slack_sdk")
    logger.setLevel(logging.CRITICAL)

    class _Redact(logging.Filter):
        def filter(self, record: logging.LogRecord) -> bool:
            record.msg = redact(record.getMessage(), url)
            record.args = ()
            return True

    for f in list(logger.filters):
        logger.removeFilter(f)
    logger.addFilter(_Redact())
    return logger


class SlackDestination(Destination):
    """Posts alert messages to one Slack incoming webhook."""

    kind = "slack"

    def deliver(self, msg: AlertMessage, idempotency_key: str, delivery_id: int = 0) -> Outcome:
        url = self._url.get_secret_value()
        protect(url)
        client = WebhookClient(url, timeout=max(1, round(self.timeout)), retry_handlers=[], logger=_quiet_logger(url))
        body = build_payload(msg, idempotency_key)
        headers = {"Idempotency-Key": idempotency_key}

        def once() -> Reply:
            try:
                resp = client.send_dict(body, headers=dict(headers))
            except Exception as exc:  # URLError, timeouts, dropped connections: no response came back
                return Reply(None, note=redact(f"{type(exc).__name__}: {exc}", url))
            got = {str(k).lower(): str(v) for k, v in dict(resp.headers or {}).items()}
            note = "" if 200 <= resp.status_code < 300 else redact(f"HTTP {resp.status_code}: {(resp.body or '')[:120]}", url)
            return Reply(resp.status_code, parse_retry_after(got.get("retry-after")), note)

        return self.post(once, url)
