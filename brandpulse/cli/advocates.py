"""`brandpulse advocates …`, `brandpulse crm …`, `brandpulse forget` and `brandpulse bench link` (thin over advocates/)."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from brandpulse.cli.bench import bench_app
from brandpulse.cli.common import ConfigOpt, JsonOpt, build_context, console, err_console
from brandpulse.cli.common import safe as escape
from brandpulse.errors import InputError

advocates_app = typer.Typer(help="Advocates and detractors: explained ranking, CRM links, exports.", no_args_is_help=True)
crm_app = typer.Typer(help="CRM contacts for linking authors to the people a brand knows.", no_args_is_help=True)
crm_import_app = typer.Typer(help="Load CRM contacts.", no_args_is_help=True)
crm_app.add_typer(crm_import_app, name="import")

BrandOpt = Annotated[str, typer.Option("--brand", "-b", help="A configured brand.")]
SinceOpt = Annotated[str | None, typer.Option("--since", help="Start of the period: a date (2026-11-01) or an age (30d, 12w).")]
LimitOpt = Annotated[int, typer.Option("--limit", "-n", min=1, help="At most this many rows.")]
KindOpt = Annotated[str, typer.Option("--kind", help="advocates | detractors")]


def parse_since(value: str | None, now: datetime | None = None) -> datetime | None:
    """'2026-11-01' (UTC) or an age such as '30d', '12w', '48h'; None passes through."""
    if not value:
        return None
    m = re.fullmatch(r"\s*(\d+)\s*([hdw])\s*", value)
    if m:
        n, unit = int(m.group(1)), m.group(2)
        delta = {"h": timedelta(hours=n), "d": timedelta(days=n), "w": timedelta(weeks=n)}[unit]
        return (now or datetime.now(UTC)) - delta
    try:
        dt = datetime.fromisoformat(value.strip())
    except ValueError:
        raise InputError(f"--since {value!r} is neither a date nor an age",
                         hint="Use a date like 2026-11-01 or an age like 30d / 12w / 48h.") from None
    return dt if dt.tzinfo else dt.replace(tzinfo=UTC)


def _kind(kind: str) -> str:
    if kind not in ("advocates", "detractors"):
        raise InputError(f"--kind must be advocates or detractors, got {kind!r}")
    return kind


@advocates_app.command("rank")
def rank_cmd(brand: BrandOpt, config: ConfigOpt = None, since: SinceOpt = None, limit: LimitOpt = 20,
             kind: KindOpt = "advocates", as_json: JsonOpt = False) -> None:
    """Rank a brand's advocates (or detractors), each with the numbers and posts behind its score."""
    from advocates.lists import ranked_list

    ctx = build_context(config)
    ranked = ranked_list(ctx.migrated_engine(), ctx.settings, brand, kind=_kind(kind), since=parse_since(since),
                         limit=limit)
    if as_json:
        print(json.dumps([{"rank": i, "author": r.key, "accounts": r.accounts, "score": r.score,
                           "nps_class": r.nps_class, "reasons": r.reasons, "top_posts": r.top_posts,
                           "crm_contact": r.contact_id, "link_status": r.link_status} for i, r in enumerate(ranked, 1)],
                         ensure_ascii=False))
        return
    t = Table("#", "author", "score", "class", "why", "top post", title=f"{kind} of {brand}")
    for i, r in enumerate(ranked, 1):
        top = r.top_posts[0] if r.top_posts else {}
        t.add_row(str(i), escape(", ".join(r.accounts)), f"{r.score:.3f}", r.nps_class, escape(r.reason_text()),
                  escape(f"{top.get('text', '')[:80]} {top.get('url') or ''}"))
    console.print(t)


@advocates_app.command("export")
def export_cmd(brand: BrandOpt, output: Annotated[Path, typer.Option("--output", "-o", help="File to write.")],
               fmt: Annotated[str, typer.Option("--format", "-f", help="csv | xlsx")] = "csv",
               config: ConfigOpt = None, since: SinceOpt = None, limit: LimitOpt = 500,
               kind: KindOpt = "advocates") -> None:
    """Write advocates (or detractors) with profile links, scores, reasons, NPS class and CRM ids to CSV or XLSX."""
    from advocates.export import write_export
    from advocates.lists import contact_ids, ranked_list

    ctx = build_context(config)
    engine = ctx.migrated_engine()
    ranked = ranked_list(engine, ctx.settings, brand, kind=_kind(kind), since=parse_since(since), limit=limit)
    n = write_export(output, ranked, fmt, contact_ids(engine), title=f"{brand} {kind}")
    console.print(f"wrote {n} {kind} to {escape(str(output))}")


def _pair(value: str) -> tuple[int, int]:
    m = re.fullmatch(r"\s*(\d+)\s*[:=]\s*(\d+)\s*", value)
    if not m:
        raise InputError(f"{value!r} is not AUTHOR_ID:CONTACT_ID", hint="Take the ids from `brandpulse advocates link --list`.")
    return int(m.group(1)), int(m.group(2))


@advocates_app.command("link")
def link_cmd(config: ConfigOpt = None, brand: Annotated[str | None, typer.Option("--brand", "-b")] = None,
             since: SinceOpt = None, limit: LimitOpt = 50,
             confirm: Annotated[list[str] | None, typer.Option("--confirm", help="AUTHOR_ID:CONTACT_ID to confirm.")] = None,
             reject: Annotated[list[str] | None, typer.Option("--reject", help="AUTHOR_ID:CONTACT_ID to reject.")] = None,
             list_only: Annotated[bool, typer.Option("--list", help="Only list the proposed links.")] = False,
             by: Annotated[str | None, typer.Option("--by", help="Who decides (kept with the decision).")] = None) -> None:
    """Link authors to CRM contacts (automatic above the threshold, proposed below), then confirm or reject."""
    from advocates.config import advocates_config
    from advocates.linking import link_authors
    from brandpulse.store.contacts import decide_link, links_frame

    ctx = build_context(config)
    engine = ctx.migrated_engine()
    for v in confirm or []:
        decide_link(engine, *_pair(v), "confirmed", by)
    for v in reject or []:
        decide_link(engine, *_pair(v), "rejected", by)
    if not (list_only or confirm or reject):
        counts = link_authors(engine, advocates_config(ctx.settings.advocates))
        console.print(f"linked automatically: {counts['auto']}, proposed: {counts['proposed']}, "
                      f"decisions kept: {counts['kept']}")
    df = links_frame(engine, ["proposed"]).head(limit)
    t = Table("author id", "account", "name", "contact id", "contact", "method", "confidence", title="proposed links")
    for r in df.itertuples():
        t.add_row(str(r.author_id), escape(f"{r.platform}:{r.handle}"), escape(str(r.display_name or "")),
                  str(r.contact_id), escape(f"{r.contact_name or ''} <{r.email or ''}> {r.source}:{r.external_id}"),
                  r.method, f"{r.confidence:.2f}")
    console.print(t)


@crm_import_app.command("csv")
def crm_import_csv(path: Annotated[Path, typer.Argument(help="CSV export of contacts (header row).")],
                   config: ConfigOpt = None,
                   mapping: Annotated[list[str] | None, typer.Option("--map", help="FIELD=COLUMN, e.g. email='E-mail'.")] = None,
                   source: Annotated[str, typer.Option(help="Name the contacts' CRM in the store.")] = "csv") -> None:
    """Load contacts from CSV; bad rows are reported with their line numbers and the rest are kept."""
    from advocates.config import advocates_config
    from advocates.crm_csv import read_contacts_csv
    from brandpulse.store.contacts import upsert_contacts

    ctx = build_context(config)
    cols = dict(advocates_config(ctx.settings.advocates).csv_columns)
    for m in mapping or []:
        fld, sep, col = m.partition("=")
        if not sep or not fld.strip() or not col.strip():
            raise InputError(f"--map {m!r} is not FIELD=COLUMN")
        cols[fld.strip()] = col.strip()
    res = read_contacts_csv(path, cols, source)
    for e in res.errors:
        err_console.print(f"[yellow]skipped[/] {escape(str(e))}", highlight=False)
    n = upsert_contacts(ctx.migrated_engine(), res.contacts)
    console.print(f"imported {n} contacts from {escape(str(path))}; {len(res.errors)} bad rows skipped")


def _hubspot_api(api_url: str | None) -> object:
    from advocates import hubspot

    return hubspot.client(host=api_url)


def _salesforce_api(domain: str | None) -> object:
    from advocates import salesforce
    from brandpulse.config import secret

    url, sid = secret("SALESFORCE_INSTANCE_URL", required=False), secret("SALESFORCE_SESSION_ID", required=False)
    if url and sid:
        return salesforce.client(instance_url=url.get_secret_value(), session_id=sid.get_secret_value())
    return salesforce.client(domain=domain)


ApiUrlOpt = Annotated[str | None, typer.Option("--api-url", hidden=True, help="HubSpot API base URL (tests).")]
DomainOpt = Annotated[str | None, typer.Option("--domain", help="Salesforce login domain: login (default) or test.")]


@crm_import_app.command("hubspot")
def crm_import_hubspot(config: ConfigOpt = None, api_url: ApiUrlOpt = None) -> None:
    """Load HubSpot contacts (CRM search, all pages; rate limits waited out). Token: HUBSPOT_ACCESS_TOKEN."""
    from advocates import hubspot
    from brandpulse.store.contacts import upsert_contacts

    ctx = build_context(config)
    engine = ctx.migrated_engine()
    res = hubspot.import_contacts(_hubspot_api(api_url))
    for why in res.skipped:
        err_console.print(f"[yellow]skipped[/] {escape(why)}", highlight=False)
    n = upsert_contacts(engine, res.contacts)
    console.print(f"imported {n} HubSpot contacts from {res.pages} page(s); {len(res.skipped)} skipped")


@crm_import_app.command("salesforce")
def crm_import_salesforce(config: ConfigOpt = None, domain: DomainOpt = None,
                          fields: Annotated[list[str] | None, typer.Option(
                              "--field", help="PLATFORM=Field__c: a Contact field holding a social handle.")] = None) -> None:
    """Load Salesforce Contacts (SOQL, all pages). Credentials: SALESFORCE_USERNAME / _PASSWORD / _SECURITY_TOKEN."""
    from advocates import salesforce
    from advocates.config import advocates_config
    from brandpulse.store.contacts import upsert_contacts

    ctx = build_context(config)
    hf = dict(advocates_config(ctx.settings.advocates).salesforce_handle_fields)
    for f in fields or []:
        plat, sep, name = f.partition("=")
        if not sep or not plat.strip() or not name.strip():
            raise InputError(f"--field {f!r} is not PLATFORM=Field__c")
        hf[plat.strip()] = name.strip()
    engine = ctx.migrated_engine()
    res = salesforce.import_contacts(_salesforce_api(domain), hf)
    for why in res.skipped:
        err_console.print(f"[yellow]skipped[/] {escape(why)}", highlight=False)
    n = upsert_contacts(engine, res.contacts)
    console.print(f"imported {n} Salesforce contacts; {len(res.skipped)} skipped")


@advocates_app.command("push")
def push_cmd(brand: BrandOpt, crm: Annotated[str, typer.Option("--crm", help="hubspot | salesforce")],
             config: ConfigOpt = None, since: SinceOpt = None, limit: LimitOpt = 50,
             list_name: Annotated[str | None, typer.Option("--list", help="HubSpot: the value set on the push property "
                                                                         "(default: the brand).")] = None,
             campaign: Annotated[str | None, typer.Option("--campaign", help="Salesforce Campaign id.")] = None,
             dry_run: Annotated[bool, typer.Option("--dry-run", help="Print what would change; change nothing.")] = False,
             api_url: ApiUrlOpt = None, domain: DomainOpt = None) -> None:
    """Add the brand's top advocates (their linked contacts) to a HubSpot list property or a Salesforce campaign."""
    from advocates.config import advocates_config
    from advocates.push import describe, execute, plan_push

    ctx = build_context(config)
    cfg = advocates_config(ctx.settings.advocates)
    target = campaign if crm == "salesforce" else list_name
    plan = plan_push(ctx.migrated_engine(), ctx.settings, brand, crm, target=target, since=parse_since(since),
                     limit=limit, cfg=cfg)
    for why in plan.skipped:
        err_console.print(f"[dim]not pushed[/] {escape(why)}", highlight=False)
    lines = describe(plan, cfg)
    prefix = "would change" if dry_run else "changing"
    for line in lines:
        console.print(f"{prefix}: {escape(line)}", highlight=False)
    if dry_run:
        console.print(f"dry run: {len(lines)} change(s) listed, nothing sent")
        return
    api = _hubspot_api(api_url) if crm == "hubspot" else _salesforce_api(domain)
    n = execute(plan, cfg, api)
    console.print(f"pushed {n} of {len(lines)} advocate(s) to {crm}")


@advocates_app.command("cases")
def cases_cmd(config: ConfigOpt = None, brand: Annotated[str | None, typer.Option("--brand", "-b")] = None,
              since: SinceOpt = None, limit: LimitOpt = 50, api_url: ApiUrlOpt = None, domain: DomainOpt = None) -> None:
    """One pass: queue a case for each negative post by a linked contact ([advocates] cases), then open them."""
    from advocates.cases import decide, send
    from advocates.config import advocates_config
    from advocates.lists import resolve_model_key

    ctx = build_context(config)
    cfg = advocates_config(ctx.settings.advocates)
    if not cfg.cases:
        raise InputError("no brand opens CRM cases", hint='Add e.g. cases = {Nimbus = "hubspot"} under [advocates].')
    engine = ctx.migrated_engine()
    queued = decide(engine, cfg, resolve_model_key(engine, None), brand=brand, since=parse_since(since), limit=limit)
    for crm in sorted({c for b, c in cfg.cases.items() if brand is None or b == brand}):
        api = _hubspot_api(api_url) if crm == "hubspot" else _salesforce_api(domain)
        counts = send(engine, crm, api, brand=brand, limit=limit)
        console.print(f"{crm}: queued {sum(n for b, n in queued.items() if cfg.cases[b] == crm)}, "
                      f"opened {counts['sent']}, failed {counts['failed']} (retried next pass)")


def forget(author: Annotated[str, typer.Option("--author", help="PLATFORM:HANDLE, e.g. x:@jane.")],
           config: ConfigOpt = None,
           yes: Annotated[bool, typer.Option("--yes", help="Do not ask for confirmation.")] = False) -> None:
    """Remove every trace of an author: mentions, scores, labels, profile, CRM links; rollups are corrected."""
    from brandpulse.store.forget import forget_author, parse_author

    platform, handle = parse_author(author)
    if not yes and not typer.confirm(f"Remove everything stored about {platform}:{handle}?"):
        raise typer.Exit(1)
    ctx = build_context(config)
    r = forget_author(ctx.migrated_engine(), platform, handle)
    console.print(f"forgot {platform}:{escape(handle)}: {r.mentions} mentions, {r.scores} scores, {r.labels} labels, "
                  f"{r.links} CRM links, evidence scrubbed in {r.alerts_scrubbed} alerts")


def bench_link_cmd(as_json: JsonOpt = False,
                   authors: Annotated[int, typer.Option(min=10)] = 2000,
                   contacts: Annotated[int, typer.Option(min=10)] = 5000,
                   seed: Annotated[int, typer.Option()] = 13) -> None:
    """Linking precision/recall at the automatic threshold on a generated set, next to a naive exact-name match."""
    from advocates.bench_link import bench_link

    res = bench_link(authors, contacts, seed)
    if not as_json:
        console.print(f"authors {res['authors']}, contacts {res['contacts']}, true pairs {res['true_pairs']}")
        console.print(f"matcher (auto ≥ {res['auto_threshold']}): precision {res['precision']:.3f}, "
                      f"recall {res['recall']:.3f}; with proposed: recall {res['proposed_included_recall']:.3f}")
        console.print(f"naive exact name: precision {res['naive_exact_name_precision']:.3f}, "
                      f"recall {res['naive_exact_name_recall']:.3f}")
    print(json.dumps(res))


def register(app: typer.Typer) -> None:
    """Attach the advocates, crm, forget and bench link commands to the main app."""
    app.add_typer(advocates_app, name="advocates")
    app.add_typer(crm_app, name="crm")
    app.command("forget")(forget)
    bench_app.command("link")(bench_link_cmd)
