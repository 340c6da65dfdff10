"""Smoke test in a real browser: `brandpulse dashboard` on a seeded store, every page opened in headless Chromium.

Pages are discovered from dashboard/app.py's PAGES registry, so a new page is covered without touching this test.
Each page must render without a Streamlit exception; a hostile post (`<script>`, `<img onerror>`, Markdown
links and images) must show as text: no script runs, no element is made from it. Screenshots (1280×800) go to
$BRANDPULSE_SCREENSHOTS (or the test's tmp directory).
"""

from __future__ import annotations

import ast
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine

from alerts.check import check_alerts
from brandpulse.config import AlertRuleConfig
from brandpulse.store.engine import make_engine
from brandpulse.store.mentions import insert_mentions
from brandpulse.store.migrate import upgrade
from tests.browser import CHROMEDRIVER, CHROMIUM, chrome, clean_env, dashboard, open_page, settle
from tests.conftest import REPO, make_mention, score_all
from tests.seed import EPISODE_HOUR, seed_week

pytestmark = pytest.mark.browser
HOSTILE_SCRIPT = "<script>alert(1)</script>"
HOSTILE_IMG = "<img src=x onerror=alert(1)>"
HOSTILE = f"Nimbus outage {HOSTILE_SCRIPT} {HOSTILE_IMG} [bank](http://evil.example) ![x](http://evil.example/a.png)"
CONFIG = """[[brands]]
name = "Nimbus"
handles = ["@NimbusHQ"]
[[brands]]
name = "Orbita"
"""


def registered_pages() -> list[str]:
    """The page names in dashboard/app.py's PAGES registry (the dict literal and any `PAGES["X"] = ...` after it)."""
    tree = ast.parse((REPO / "dashboard" / "app.py").read_text(encoding="utf-8"))
    names: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for t in targets:
                if isinstance(t, ast.Name) and t.id == "PAGES" and isinstance(node.value, ast.Dict):
                    names += [str(k.value) for k in node.value.keys if isinstance(k, ast.Constant)]
                elif (isinstance(t, ast.Subscript) and isinstance(t.value, ast.Name) and t.value.id == "PAGES"
                      and isinstance(t.slice, ast.Constant)):
                    names.append(str(t.slice.value))
    return list(dict.fromkeys(names))


def require_browser() -> None:
    if not (CHROMIUM and CHROMEDRIVER):
        if os.environ.get("BRANDPULSE_REQUIRE_BROWSER"):
            pytest.fail("BRANDPULSE_REQUIRE_BROWSER is set but chromium/chromedriver are not installed")
        pytest.skip("needs Debian's chromium and chromium-driver (.ci/run installs them)")


def test_the_page_registry_is_read() -> None:
    pages = registered_pages()
    assert {"Overview", "Mentions", "Alerts", "Advocates"} <= set(pages)


def seed_demo_like(engine: Engine) -> None:
    """A week of two brands with one negativity episode whose most visible post is hostile markup."""
    seed_week(engine)
    troll = make_mention(900_000, brand="Nimbus", hours=EPISODE_HOUR + 0.5, text=HOSTILE, author="troll",
                         followers=90_000)
    insert_mentions(engine, [troll])
    score_all(engine, lambda _text: "negative")
    check_alerts(engine, "m@r", AlertRuleConfig())  # the episode's hour changed: its evidence is picked again
    with engine.begin() as conn:
        conn.exec_driver_sql("UPDATE mentions SET url = 'https://x.com/' || author_handle || '/status/' || native_id")


@pytest.fixture
def dashboard_url(tmp_path: Path) -> Iterator[str]:
    require_browser()
    url = f"sqlite:///{tmp_path / 'store.db'}"
    engine = make_engine(url)
    upgrade(engine)
    seed_demo_like(engine)
    engine.dispose()
    cfg = tmp_path / "brandpulse.toml"
    cfg.write_text(CONFIG, encoding="utf-8")
    try:
        with dashboard(cfg, clean_env(BRANDPULSE_DATABASE_URL=url)) as base:
            yield base
    except RuntimeError as exc:
        pytest.fail(str(exc))


@pytest.fixture
def driver(tmp_path: Path) -> Iterator[Any]:
    with chrome(tmp_path / "chrome-profile") as drv:
        yield drv


def _screenshot_dir(tmp_path: Path) -> Path:
    out = Path(os.environ.get("BRANDPULSE_SCREENSHOTS") or tmp_path / "screenshots")
    out.mkdir(parents=True, exist_ok=True)
    return out


def _assert_inert(drv: Any, page: str) -> None:
    from selenium.webdriver.common.by import By

    exceptions = drv.find_elements(By.CSS_SELECTOR, '[data-testid="stException"]')
    assert not exceptions, f"{page}: Streamlit exception: {[e.text[:500] for e in exceptions]}"
    assert drv.execute_script("return window.__bpDialogs") == [], f"{page}: a script from a post ran"
    assert not drv.find_elements(By.CSS_SELECTOR, 'img[src="x"], img[src*="evil.example"]'), f"{page}: <img> from a post"
    assert not drv.find_elements(By.CSS_SELECTOR, 'a[href*="evil.example"]'), f"{page}: a link from a post's Markdown"
    scripts = drv.execute_script("return Array.from(document.scripts).map(s => s.textContent)")
    assert not any("alert(1)" in s for s in scripts), f"{page}: <script> from a post"


def test_every_page_renders_and_hostile_posts_stay_text(dashboard_url: str, driver: Any, tmp_path: Path) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    shots = _screenshot_dir(tmp_path)
    driver.get(dashboard_url)
    WebDriverWait(driver, 90).until(ec.presence_of_element_located((By.XPATH, '//h1[normalize-space()="Overview"]')))
    settle(driver)
    pages = registered_pages()
    seen: dict[str, str] = {}
    for page in pages:
        if page != "Overview":
            open_page(driver, page)
        _assert_inert(driver, page)
        driver.save_screenshot(str(shots / f"{page.lower()}.png"))
        seen[page] = driver.find_element(By.TAG_NAME, "body").text
        if page == "Alerts":  # the opened alert's evidence: metrics against the baseline, chart, top posts
            tiles = driver.find_elements(By.CSS_SELECTOR, '[data-testid="stMetric"]')
            assert tiles, "Alerts: no metric tiles"
            driver.execute_script("arguments[0].scrollIntoView({block: 'start'});", tiles[0])
            time.sleep(0.5)
            driver.save_screenshot(str(shots / "alerts-evidence.png"))
    assert set(seen) == set(pages)

    # the Overview's open alert quotes the hostile post as text, character for character
    open_page(driver, "Overview")
    assert "Open alerts (1)" in seen["Overview"] and "Nimbus" in seen["Overview"]
    summary = driver.find_element(By.XPATH, '//summary[.//p[normalize-space()="Why it fired"]]')
    driver.execute_script("arguments[0].scrollIntoView({block: 'center'}); arguments[0].click();", summary)
    settle(driver)
    quoted = [e.text for e in driver.find_elements(By.CSS_SELECTOR, '[data-testid="stText"]')]
    assert any(HOSTILE_SCRIPT in t and HOSTILE_IMG in t and "[bank](http://evil.example)" in t for t in quoted), quoted
    _assert_inert(driver, "Overview (evidence open)")
    # the Alerts page lists the alert with its evidence
    assert "Alerts (1)" in seen["Alerts"] and "CRITICAL" in seen["Alerts"].upper()
    assert "Top posts" in seen["Alerts"] and "Platforms" in seen["Alerts"]
