"""Smoke test in a real browser: `brandpulse dashboard` on a seeded store, every page opened in headless Chromium.

Pages are discovered from dashboard/app.py's PAGES registry, so a new page is covered without touching this test.
Each page must render without a Streamlit exception; a hostile post (`<script>`, `<img onerror>`, Markdown
links and images) must show as text: no script runs, no element is made from it. Screenshots (1280×800) go to
$BRANDPULSE_SCREENSHOTS (or the test's tmp directory).
"""

from __future__ import annotations

import ast
import os
import shutil
import socket
import subprocess
import sys
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
from tests.conftest import REPO, make_mention, score_all
from tests.seed import EPISODE_HOUR, seed_week

pytestmark = pytest.mark.browser
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")
HOSTILE_SCRIPT = "<script>alert(1)</script>"
HOSTILE_IMG = "<img src=x onerror=alert(1)>"
HOSTILE = f"Nimbus outage {HOSTILE_SCRIPT} {HOSTILE_IMG} [bank](http://evil.example) ![x](http://evil.example/a.png)"
CONFIG = """[[brands]]
name = "Nimbus"
handles = ["@NimbusHQ"]
[[brands]]
name = "Orbita"
"""
#: Records window.alert/confirm/prompt calls instead of opening dialogs: a hostile script that ran would leave a trace.
ALERT_TRAP = ("window.__bpDialogs = []; for (const f of ['alert', 'confirm', 'prompt']) "
              "{ window[f] = (m) => { window.__bpDialogs.push(String(m)); }; }")


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


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def dashboard_url(tmp_path: Path) -> Iterator[str]:
    if not (CHROMIUM and CHROMEDRIVER):
        if os.environ.get("BRANDPULSE_REQUIRE_BROWSER"):
            pytest.fail("BRANDPULSE_REQUIRE_BROWSER is set but chromium/chromedriver are not installed")
        pytest.skip("needs Debian's chromium and chromium-driver (.ci/run installs them)")
    url = f"sqlite:///{tmp_path / 'store.db'}"
    engine = make_engine(url)
    upgrade(engine)
    seed_demo_like(engine)
    engine.dispose()
    cfg = tmp_path / "brandpulse.toml"
    cfg.write_text(CONFIG, encoding="utf-8")
    port = _free_port()
    env = {**os.environ, "BRANDPULSE_DATABASE_URL": url}
    proc = subprocess.Popen(
        [sys.executable, "-m", "brandpulse", "dashboard", "--config", str(cfg), "--port", str(port)],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                break
        except OSError:
            if proc.poll() is not None:
                break
            time.sleep(0.5)
    else:
        proc.kill()
        pytest.fail(f"dashboard did not start: {proc.stdout.read() if proc.stdout else ''}")
    if proc.poll() is not None:
        pytest.fail(f"dashboard exited: {proc.stdout.read() if proc.stdout else ''}")
    yield f"http://127.0.0.1:{port}"
    proc.terminate()
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    if proc.stdout:
        proc.stdout.close()


@pytest.fixture
def driver(tmp_path: Path) -> Iterator[Any]:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM or ""
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-quic",
                 "--no-first-run", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", f"--user-data-dir={tmp_path / 'chrome-profile'}", "--window-size=1280,800",
                 "--hide-scrollbars"):
        opts.add_argument(flag)
    drv = webdriver.Chrome(service=Service(CHROMEDRIVER or ""), options=opts)
    drv.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                        {"width": 1280, "height": 800, "deviceScaleFactor": 1, "mobile": False})
    drv.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": ALERT_TRAP})
    try:
        yield drv
    finally:
        drv.quit()


def _screenshot_dir(tmp_path: Path) -> Path:
    out = Path(os.environ.get("BRANDPULSE_SCREENSHOTS") or tmp_path / "screenshots")
    out.mkdir(parents=True, exist_ok=True)
    return out


def _settle(drv: Any, timeout: float = 60) -> None:
    """Wait until Streamlit has finished running the script (no status widget, no spinner) and charts are drawn."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    time.sleep(1.0)
    WebDriverWait(drv, timeout).until(lambda d: not d.find_elements(
        By.CSS_SELECTOR, '[data-testid="stStatusWidget"] [data-testid="stStatusWidgetRunningIcon"],'
                         '[data-testid="stSpinner"], [data-stale="true"]'))
    WebDriverWait(drv, timeout).until(lambda d: all(
        p.find_elements(By.CSS_SELECTOR, ".main-svg") for p in d.find_elements(By.CSS_SELECTOR, '[data-testid="stPlotlyChart"]')))
    time.sleep(1.0)


def _open_page(drv: Any, name: str) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    wait = WebDriverWait(drv, 60)
    label = wait.until(ec.element_to_be_clickable(
        (By.XPATH, f'//section[@data-testid="stSidebar"]//label[.//p[normalize-space()="{name}"]]')))
    label.click()
    wait.until(ec.presence_of_element_located((By.XPATH, f'//h1[normalize-space()="{name}"]')))
    _settle(drv)


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
    _settle(driver)
    pages = registered_pages()
    seen: dict[str, str] = {}
    for page in pages:
        if page != "Overview":
            _open_page(driver, page)
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
    _open_page(driver, "Overview")
    assert "Open alerts (1)" in seen["Overview"] and "Nimbus" in seen["Overview"]
    summary = driver.find_element(By.XPATH, '//summary[.//p[normalize-space()="Why it fired"]]')
    driver.execute_script("arguments[0].scrollIntoView({block: 'center'}); arguments[0].click();", summary)
    _settle(driver)
    quoted = [e.text for e in driver.find_elements(By.CSS_SELECTOR, '[data-testid="stText"]')]
    assert any(HOSTILE_SCRIPT in t and HOSTILE_IMG in t and "[bank](http://evil.example)" in t for t in quoted), quoted
    _assert_inert(driver, "Overview (evidence open)")
    # the Alerts page lists the alert with its evidence
    assert "Alerts (1)" in seen["Alerts"] and "CRITICAL" in seen["Alerts"].upper()
    assert "Top posts" in seen["Alerts"] and "Platforms" in seen["Alerts"]
