"""HubSpot through the real hubspot-api-client against recorded responses served locally (see fixtures/hubspot/SOURCE.md):
paging, a 429 waited out, an expired token, write-back (and its dry run), cases opened once per mention."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from sqlalchemy import Engine, select
from typer.testing import CliRunner

from advocates import hubspot
from advocates.cases import decide, send
from advocates.config import AdvocatesConfig
from advocates.push import describe, execute, plan_push
from brandpulse.cli import app, main
from brandpulse.config import load_settings
from brandpulse.errors import CredentialsError, RateLimitedError
from brandpulse.store.cases import list_cases
from brandpulse.store.contacts import Contact, decide_link, list_contacts, upsert_contacts
from brandpulse.store.engine import make_engine, session_scope
from brandpulse.store.migrate import upgrade
from brandpulse.store.schema import AuthorRow
from tests.crm_fake import crm_server, recorded
from tests.fakeserver import Sleeps
from tests.test_advocates_rank import seed_advocates

SEARCH = "POST /crm/v3/objects/contacts/search"
TOKEN = "pat-na1-not-a-real-token-7f3c"
runner = CliRunner()


def test_import_follows_paging_and_waits_out_the_429(engine: Engine) -> None:
    script = {SEARCH: [recorded("hubspot", "contacts_search_429.json"),
                       recorded("hubspot", "search_first_page_docs.json"),
                       recorded("hubspot", "contacts_search_last_page.json")]}
    sleeps = Sleeps()
    with crm_server(script) as srv:
        res = hubspot.import_contacts(hubspot.client(host=srv.url, token=TOKEN), sleep=sleeps)
        reqs = srv.server.requests  # type: ignore[attr-defined]
    # the secondly limit (no Retry-After recorded) is waited out once, then the same page is asked again
    assert sleeps == [1.0]
    assert [r["path"] for r in reqs] == ["/crm/v3/objects/contacts/search"] * 3
    assert reqs[0]["body"].get("after") is None and reqs[1]["body"].get("after") is None
    assert reqs[2]["body"]["after"] == "NTI1Cg%3D%3D"  # the cursor of the documented first page
    assert all(r["auth"] == f"Bearer {TOKEN}" for r in reqs)
    assert res.pages == 2
    # the documented record has no name/e-mail/handle: reported and skipped; the recorded contact is kept
    assert len(res.skipped) == 1 and res.skipped[0].startswith("contact 512")
    assert [(c.external_id, c.name, c.email) for c in res.contacts] == [("286101", "John", "grouparoo@demo.com")]
    upsert_contacts(engine, res.contacts)
    assert [(c.source, c.external_id) for c in list_contacts(engine)] == [("hubspot", "286101")]


def test_rate_limit_that_never_lifts_gives_up_with_a_rate_limit_error() -> None:
    sleeps = Sleeps()
    with crm_server({SEARCH: [recorded("hubspot", "contacts_search_429.json")]}) as srv, \
            pytest.raises(RateLimitedError, match="HubSpot rate limit reached"):
        hubspot.import_contacts(hubspot.client(host=srv.url, token=TOKEN), sleep=sleeps)
    assert sleeps == [1.0, 2.0, 4.0, 8.0]  # backs off, MAX_ATTEMPTS in all


def test_expired_token_is_a_credentials_error_without_the_token() -> None:
    with crm_server({SEARCH: [recorded("hubspot", "error_401_docs.json")]}) as srv, pytest.raises(CredentialsError) as err:
        hubspot.import_contacts(hubspot.client(host=srv.url, token=TOKEN), sleep=Sleeps())
    msg = str(err.value)
    assert "HTTP 401" in msg and "HUBSPOT_ACCESS_TOKEN" in msg and TOKEN not in msg


def test_cli_import_reads_the_token_from_the_environment_and_fails_cleanly(tmp_path: Path,
                                                                             monkeypatch: pytest.MonkeyPatch,
                                                                             capsys: pytest.CaptureFixture[str]) -> None:
    cfg = tmp_path / "brandpulse.toml"
    cfg.write_text('[store]\ndatabase_url = "sqlite:///store.db"\n\n[[brands]]\nname = "Nimbus"\n', encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HUBSPOT_ACCESS_TOKEN", TOKEN)
    with crm_server({SEARCH: [recorded("hubspot", "contacts_search_last_page.json")]}) as srv:
        r = runner.invoke(app, ["crm", "import", "hubspot", "-c", str(cfg), "--api-url", srv.url])
        assert r.exit_code == 0, r.output
        assert "imported 1 HubSpot contacts" in r.output
        assert srv.server.requests[0]["auth"] == f"Bearer {TOKEN}"  # type: ignore[attr-defined]
    with crm_server({SEARCH: [recorded("hubspot", "error_401_docs.json")]}) as srv:
        monkeypatch.setattr(sys, "argv", ["brandpulse", "crm", "import", "hubspot", "-c", str(cfg), "--api-url", srv.url])
        with pytest.raises(SystemExit) as exited:
            main()
    out = capsys.readouterr()
    assert exited.value.code == 2
    text = out.err + out.out
    assert "HubSpot refused the access token" in text and "HUBSPOT_ACCESS_TOKEN" in text
    assert "Traceback" not in text and TOKEN not in text


def _author_id(engine: Engine, handle: str) -> int:
    with session_scope(engine) as s:
        return int(s.scalars(select(AuthorRow.id).where(AuthorRow.handle == handle)).one())


def _seed_linked(engine: Engine) -> None:
    seed_advocates(engine)
    upsert_contacts(engine, [Contact("hubspot", "290201", "Anna Fan", "anna@example.org"),
                             Contact("hubspot", "286101", "Ivan", "ivan@example.org"),
                             Contact("hubspot", "999", "Bot Owner", opted_out=True)])
    ids = {c.external_id: c.id for c in list_contacts(engine)}
    decide_link(engine, _author_id(engine, "fan_anna"), ids["290201"], "confirmed")
    decide_link(engine, _author_id(engine, "angry_ivan"), ids["286101"], "confirmed")
    decide_link(engine, _author_id(engine, "promo_bot_77"), ids["999"], "confirmed")


def _settings(tmp_path: Path) -> object:
    p = tmp_path / "brandpulse.toml"
    p.write_text('[[brands]]\nname = "Nimbus"\nhandles = ["@NimbusHQ"]\ncompetitors = ["Orbita"]\n\n'
                 '[[brands]]\nname = "Orbita"\nhandles = ["https://x.com/OrbitaOfficial"]\n', encoding="utf-8")
    return load_settings(p)


def test_push_sets_the_property_on_linked_advocates_and_dry_run_sends_nothing(engine: Engine, tmp_path: Path) -> None:
    _seed_linked(engine)
    cfg = AdvocatesConfig()
    plan = plan_push(engine, _settings(tmp_path), "Nimbus", "hubspot", target="closed-beta", cfg=cfg)  # type: ignore[arg-type]
    # the bot ranks, but its contact opted out: never pushed; unlinked authors are skipped with the reason
    assert [it.contact_external_id for it in plan.items] == ["290201"]
    assert "x:promo_bot_77" not in {it.author for it in plan.items}
    assert any(s.startswith("x:one_post_oleg: no confirmed or automatic CRM link") for s in plan.skipped)
    lines = describe(plan, cfg)
    assert lines == [lines[0]] and "HubSpot contact 290201: set brandpulse_advocate = 'closed-beta'" in lines[0]
    with crm_server({"POST /crm/v3/objects/contacts/batch/update":
                     [recorded("hubspot", "contacts_batch_update.json")]}) as srv:
        assert execute(plan, cfg, hubspot.client(host=srv.url, token=TOKEN)) == 1
        body = srv.server.requests[0]["body"]  # type: ignore[attr-defined]
    assert body == {"inputs": [{"id": "290201", "properties": {"brandpulse_advocate": "closed-beta"}}]}


def test_cli_push_dry_run_makes_no_request(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    eng = make_engine(f"sqlite:///{tmp_path / 'store.db'}")
    upgrade(eng)
    _seed_linked(eng)
    eng.dispose()
    cfg = tmp_path / "brandpulse.toml"
    cfg.write_text('[store]\ndatabase_url = "sqlite:///store.db"\n\n[[brands]]\nname = "Nimbus"\nhandles = ["@NimbusHQ"]\n'
                   'competitors = ["Orbita"]\n\n[[brands]]\nname = "Orbita"\n', encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("HUBSPOT_ACCESS_TOKEN", raising=False)  # a dry run needs no credentials either
    with crm_server({}) as srv:
        r = runner.invoke(app, ["advocates", "push", "--brand", "Nimbus", "--crm", "hubspot", "--list", "beta",
                                "--dry-run", "-c", str(cfg), "--api-url", srv.url])
        assert srv.server.requests == []  # type: ignore[attr-defined]
    assert r.exit_code == 0, r.output
    assert "would change: HubSpot contact 290201: set brandpulse_advocate = 'beta'" in r.output
    assert "nothing sent" in r.output


def test_a_case_is_opened_once_even_when_the_crm_fails_after_creating_it(engine: Engine) -> None:
    _seed_linked(engine)
    cfg = AdvocatesConfig(cases={"Nimbus": "hubspot"})
    assert decide(engine, cfg, "m@r") == {"Nimbus": 5}  # angry_ivan's five negative posts
    assert decide(engine, cfg, "m@r") == {"Nimbus": 0}  # deciding again queues nothing new
    created = recorded("hubspot", "contacts_batch_create.json")
    failure = {"status": 502, "body": None}
    script = {"POST /crm/v3/objects/tickets/batch/create": [created, failure, created],
              "POST /crm/v3/objects/tickets/search": [recorded("hubspot", "contacts_search_last_page.json")]}
    with crm_server(script) as srv:
        api = hubspot.client(host=srv.url, token=TOKEN)
        # first pass: case 1 opened; case 2 created by HubSpot but answered 502 → back to pending
        first = send(engine, "hubspot", api, limit=2, sleep=Sleeps())
        assert first == {"sent": 1, "failed": 1}
        second = send(engine, "hubspot", api, limit=10, sleep=Sleeps())
        reqs = [r["path"] for r in srv.server.requests]  # type: ignore[attr-defined]
    assert second == {"sent": 4, "failed": 0}
    # the retried case was looked up by its subject and found: no second create for it
    assert reqs.count("/crm/v3/objects/tickets/search") == 1
    assert reqs.count("/crm/v3/objects/tickets/batch/create") == 2 + 3
    cases = list_cases(engine, "hubspot")
    assert [c["status"] for c in cases] == ["sent"] * 5
    retried = cases[1]
    assert retried["attempts"] == 2 and retried["external_id"] == "286101"
    ticket = srv.server.requests[0]["body"]["inputs"][0]  # type: ignore[attr-defined]
    assert "lost my files" in ticket["properties"]["content"] and "negative 0.9" in ticket["properties"]["content"]
    assert "https://x.com/angry_ivan/status/" in ticket["properties"]["content"]
    assert ticket["associations"][0]["to"]["id"] == "286101"
