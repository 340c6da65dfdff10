"""The Advocates page with AppTest: ranked list with reasons, confirming a proposed link, the downloads, social NPS."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
import streamlit as st
from openpyxl import load_workbook
from sqlalchemy import Engine
from streamlit.testing.v1 import AppTest

from advocates.config import AdvocatesConfig
from advocates.linking import link_authors
from brandpulse.store.contacts import Contact, list_links, upsert_contacts
from tests.conftest import REPO
from tests.test_advocates_rank import seed_advocates

APP = str(REPO / "dashboard" / "app.py")
TOML = """[[brands]]
name = "Nimbus"
handles = ["@NimbusHQ"]
[[brands]]
name = "Orbita"
handles = ["OrbitaOfficial"]
"""


@pytest.fixture(autouse=True)
def _fresh_caches() -> None:
    st.cache_data.clear()
    st.cache_resource.clear()


@pytest.fixture
def seeded(engine: Engine, db_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Engine:
    seed_advocates(engine)
    upsert_contacts(engine, [Contact("csv", "c7", "Anna Fan"), Contact("csv", "c8", "Anna Fan")])
    with engine.begin() as conn:
        conn.exec_driver_sql("UPDATE authors SET display_name = 'Anna Fan' WHERE handle = 'fan_anna'")
    link_authors(engine, AdvocatesConfig())
    cfg = tmp_path / "brandpulse.toml"
    cfg.write_text(TOML, encoding="utf-8")
    monkeypatch.setenv("BRANDPULSE_DATABASE_URL", db_url)
    monkeypatch.setenv("BRANDPULSE_CONFIG", str(cfg))
    return engine


def _page() -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60).run()
    at.sidebar.radio(key="page").set_value("Advocates").run()
    assert not at.exception, at.exception
    return at


def test_ranked_list_with_reasons_and_nps(seeded: Engine) -> None:
    at = _page()
    assert at.title[0].value == "Advocates"
    table = at.dataframe[0].value
    assert table.iloc[0]["author"] == "x:fan_anna" and "12 positive of 12 posts" in table.iloc[0]["why"]
    assert "x:OrbitaOfficial" not in set(table["author"])
    assert any("x.com/fan_anna/status" in t.value for t in at.text)  # top posts as plain text with links
    assert at.get("plotly_chart")  # the social NPS trend
    at.radio(key="a_kind").set_value("detractors").run()
    assert list(at.dataframe[0].value["author"]) == ["x:angry_ivan"]


def test_confirming_a_proposed_link(seeded: Engine) -> None:
    proposed = [lk for lk in list_links(seeded, ["proposed"])]
    assert len(proposed) == 2  # namesakes: both wait for a person
    at = _page()
    pick = at.selectbox(key="a_pick")
    target = pick.options[1]
    pick.set_value(target).run()
    at.button(key="a_confirm").click().run()
    assert not at.exception
    assert any("confirmed" in s.value for s in at.success)
    status = {f"{lk.author_id}:{lk.contact_id}": lk.status for lk in list_links(seeded)}
    assert list(status.values()).count("confirmed") == 1 and list(status.values()).count("rejected") == 1
    at = _page()
    assert at.dataframe[0].value.iloc[0]["crm status"] == "confirmed"


def test_downloads_carry_the_list(seeded: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    from streamlit.runtime.media_file_manager import MediaFileManager

    served: dict[str, bytes] = {}
    original = MediaFileManager.add

    def record(self: MediaFileManager, path_or_data: object, mimetype: str, *args: object, **kw: object) -> str:
        if isinstance(path_or_data, bytes):
            served[mimetype] = path_or_data
        return original(self, path_or_data, mimetype, *args, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(MediaFileManager, "add", record)
    at = _page()
    assert {b.proto.label for b in at.get("download_button")} == {"Download CSV", "Download XLSX"}
    xlsx = served["application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"]
    ws = load_workbook(io.BytesIO(xlsx)).active
    assert ws is not None and ws.cell(row=2, column=2).value == "x:fan_anna"
    csv_text = served["text/csv"].decode("utf-8-sig")
    assert csv_text.splitlines()[1].startswith("1,x:fan_anna,")
