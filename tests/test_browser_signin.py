"""Sign-in in a real browser: `brandpulse dashboard` listening on every interface (0.0.0.0, the case the gate exists
for) with a password in the secrets file. A visitor who has not signed in sees the sign-in form and nothing of the
store (no brand, no post, no KPI figure, no chart, no page list), whichever page the address asks for; a wrong
password changes nothing; the right one opens the Overview."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from brandpulse.store.engine import make_engine, session_scope
from brandpulse.store.migrate import upgrade
from brandpulse.store.schema import MentionBrandRow
from tests.browser import chrome, clean_env, dashboard, settle, wait_for_heading
from tests.test_browser_smoke import require_browser, seed_demo_like

pytestmark = pytest.mark.browser
PASSWORD = "correct horse battery staple"
CONFIG = """[dashboard]
host = "0.0.0.0"
[[brands]]
name = "Nimbus"
[[brands]]
name = "Orbita"
"""
#: What the seeded store would show: its brands and words of its posts (every seeded post holds one of these).
STORE_WORDS = ("Nimbus", "Orbita", "outage", "is great", "meh", "refund")
DATA_ELEMENTS = ('[data-testid="stMetric"], [data-testid="stPlotlyChart"], [data-testid="stDataFrame"], '
                 '[data-testid="stSidebar"] [role="radiogroup"], [data-testid="stExpander"]')


@pytest.fixture
def gated(tmp_path: Path) -> Iterator[tuple[str, list[str]]]:
    """The dashboard's address and the store's mention counts per brand as the KPI tiles would print them."""
    require_browser()
    url = f"sqlite:///{tmp_path / 'store.db'}"
    engine = make_engine(url)
    upgrade(engine)
    seed_demo_like(engine)
    with session_scope(engine) as s:
        counts = [f"{n:,}" for (_b, n) in s.execute(select(MentionBrandRow.brand, func.count())
                                                      .group_by(MentionBrandRow.brand))]
    engine.dispose()
    cfg = tmp_path / "brandpulse.toml"
    cfg.write_text(CONFIG, encoding="utf-8")
    secrets = tmp_path / "secrets.env"
    secrets.write_text(f"BRANDPULSE_DASHBOARD_PASSWORD='{PASSWORD}'\n", encoding="utf-8")
    secrets.chmod(0o600)
    home = tmp_path / "home"  # no ~/.streamlit/secrets.toml with [auth]: the password form, not OpenID Connect
    home.mkdir()
    env = clean_env(BRANDPULSE_DATABASE_URL=url, BRANDPULSE_SECRETS_FILE=str(secrets), HOME=str(home))
    try:
        with dashboard(cfg, env, cwd=tmp_path) as base:
            yield base, counts
    except RuntimeError as exc:
        pytest.fail(str(exc))


def _sign_in_form(drv: Any) -> Any:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    wait_for_heading(drv, "brandpulse")
    field = WebDriverWait(drv, 60).until(ec.element_to_be_clickable((By.CSS_SELECTOR, 'input[type="password"]')))
    settle(drv)
    return field


def _assert_no_data(drv: Any, counts: list[str], where: str) -> None:
    from selenium.webdriver.common.by import By

    text = drv.find_element(By.TAG_NAME, "body").text
    source = drv.page_source
    for word in STORE_WORDS:
        assert word not in text and word not in source, f"{where}: {word!r} from the store is on the page"
    for n in counts:
        assert n not in text, f"{where}: the KPI figure {n} is on the page"
    assert not drv.find_elements(By.CSS_SELECTOR, DATA_ELEMENTS), f"{where}: a data element is on the page"
    assert "Overview" not in text and "Open alerts" not in text, f"{where}: a page rendered"
    assert not drv.find_elements(By.CSS_SELECTOR, '[data-testid="stException"]'), f"{where}: an exception"


def _submit(drv: Any, password: str) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    field = _sign_in_form(drv)
    field.send_keys(Keys.CONTROL, "a")  # React keeps its own value: clear() would not reach it
    field.send_keys(Keys.BACKSPACE)
    field.send_keys(password)
    drv.find_element(By.XPATH, '//button[.//p[normalize-space()="Sign in"]]').click()
    settle(drv)


def test_a_visitor_who_has_not_signed_in_sees_the_form_and_no_data(gated: tuple[str, list[str]],
                                                                   tmp_path: Path) -> None:
    base, counts = gated
    assert counts and all(n != "0" for n in counts)
    with chrome(tmp_path / "chrome-profile") as drv:
        for path in ("/", "/?page=Mentions", "/?page=Alerts&brands=Nimbus", "/?page=Advocates"):
            drv.get(base + path)
            _sign_in_form(drv)
            _assert_no_data(drv, counts, path)
            assert "Password" in drv.find_element("tag name", "body").text

        drv.get(base + "/")
        _submit(drv, "wrong " + PASSWORD)
        assert "Wrong password." in drv.find_element("tag name", "body").text
        _assert_no_data(drv, counts, "after a wrong password")

        _submit(drv, PASSWORD)
        wait_for_heading(drv, "Overview")
        settle(drv)
        text = drv.find_element("tag name", "body").text
        assert "Open alerts (1)" in text and "Nimbus" in text and "Orbita" in text
        assert len(drv.find_elements("css selector", '[data-testid="stMetric"]')) >= 8  # the brands' KPI tiles
        assert drv.find_elements("css selector", '[data-testid="stPlotlyChart"] .main-svg')
        assert not drv.find_elements("css selector", 'input[type="password"]')
