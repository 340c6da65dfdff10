"""Smoke test in a real browser: `brandpulse dashboard` serves the Overview with the alert (headless Chromium)."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from brandpulse.store.engine import make_engine
from brandpulse.store.migrate import upgrade
from tests.seed import seed_week

pytestmark = pytest.mark.browser
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def dashboard_url(tmp_path: Path):
    if not (CHROMIUM and CHROMEDRIVER):
        if os.environ.get("BRANDPULSE_REQUIRE_BROWSER"):
            pytest.fail("BRANDPULSE_REQUIRE_BROWSER is set but chromium/chromedriver are not installed")
        pytest.skip("needs Debian's chromium and chromium-driver (.ci/run installs them)")
    url = f"sqlite:///{tmp_path / 'store.db'}"
    engine = make_engine(url)
    upgrade(engine)
    seed_week(engine)
    engine.dispose()
    cfg = tmp_path / "brandpulse.toml"
    cfg.write_text("[[brands]]\nname='Nimbus'\n", encoding="utf-8")
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
            time.sleep(0.5)
    else:
        proc.kill()
        pytest.fail(f"dashboard did not start: {proc.stdout.read() if proc.stdout else ''}")
    yield f"http://127.0.0.1:{port}"
    proc.terminate()
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    if proc.stdout:
        proc.stdout.close()


def test_overview_renders_in_chromium(dashboard_url: str, tmp_path: Path) -> None:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM or ""
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-quic",
                 "--no-first-run", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", f"--user-data-dir={tmp_path / 'chrome'}", "--window-size=1400,2000"):
        opts.add_argument(flag)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER or ""), options=opts)
    try:
        driver.get(dashboard_url)
        wait = WebDriverWait(driver, 60)
        wait.until(ec.presence_of_element_located((By.XPATH, "//*[contains(text(), 'Open alerts (1)')]")))
        body = driver.find_element(By.TAG_NAME, "body").text
        assert "Overview" in body
        assert "Nimbus" in body and "HIGH" in body
        wait.until(lambda d: len(d.find_elements(By.CSS_SELECTOR, ".js-plotly-plot")) >= 2)
        driver.save_screenshot(str(tmp_path / "overview.png"))
    finally:
        driver.quit()
