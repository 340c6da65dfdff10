"""`brandpulse query test`."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.table import Table

from brandpulse.cli.common import ConfigOpt, JsonOpt, build_context, console, new_group, safe

query_app = new_group("The brand query language.")


@query_app.command("test")
def query_test(
    query: Annotated[str, typer.Argument(help='A query, e.g. \'("acme" OR @acme OR #acme) NOT "acme corp jobs" -from:acme\'')],
    config: ConfigOpt = None,
    scan: Annotated[int, typer.Option(help="How many of the newest stored mentions to test.")] = 20_000,
    show: Annotated[int, typer.Option(help="How many matches to list.")] = 10,
    json_out: JsonOpt = False,
) -> None:
    """Show QUERY compiled for each platform and which stored mentions it matches."""
    from brandpulse.store.queries import matching_mentions
    from listener.query import explain, parse

    q = parse(query)
    compiled = explain(q)
    t = Table("platform", "server-side search (local filter always applied after)", title=f"query: {safe(q.text)}")
    for platform, form in compiled.items():
        shown = " | ".join(form) if isinstance(form, list) else (form or "— (local filtering only)")
        t.add_row(safe(platform), safe(shown))
    console.print(t)
    ctx = build_context(config)
    scanned, matched, hits = matching_mentions(ctx.migrated_engine(), q.matches, scan=scan, limit=show)
    console.print(f"matches {matched} of the {scanned} newest stored mentions")
    for m in hits:
        console.print(f"  {m.created_at:%Y-%m-%d %H:%M} {m.platform}/@{m.author.handle}: {m.text[:120]!r}", markup=False)
    if json_out:
        print(json.dumps({"query": q.text, "compiled": compiled, "scanned": scanned, "matched": matched}))


def register(app: typer.Typer) -> None:
    app.add_typer(query_app, name="query")
