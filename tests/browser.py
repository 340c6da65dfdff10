"""Driving the real dashboard in headless Chromium (Debian's chromium + chromium-driver): start `brandpulse dashboard`
as a child process on a free port, open a browser, wait for Streamlit to finish rendering. Used by the browser tests
and by scripts/screenshots.py."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")
#: Records window.alert/confirm/prompt calls instead of opening dialogs: a hostile script that ran would leave a trace.
ALERT_TRAP = ("window.__bpDialogs = []; for (const f of ['alert', 'confirm', 'prompt']) "
              "{ window[f] = (m) => { window.__bpDialogs.push(String(m)); }; }")
#: Streamlit is still running the script, or a page still shows stale elements.
BUSY = ('[data-testid="stStatusWidget"] [data-testid="stStatusWidgetRunningIcon"], [data-testid="stSpinner"], '
        '[data-stale="true"], [data-testid="stSkeleton"]')
#: The app's own run state (the status widget is not shown in every toolbar mode).
IDLE = '[data-testid="stApp"][data-test-script-state="notRunning"]'


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def dashboard(config: Path | None, env: dict[str, str], *, cwd: Path | None = None, startup_s: float = 60,
              command: Callable[[int], list[str]] | None = None) -> Iterator[str]:
    """`brandpulse dashboard --config CONFIG` (or `command(port)`) on a free port; yields http://127.0.0.1:PORT
    (whatever host it binds)."""
    port = free_port()
    cmd = command(port) if command else [sys.executable, "-m", "brandpulse", "dashboard", "--config", str(config),
                                         "--port", str(port)]
    proc = subprocess.Popen(cmd, env=env, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.time() + startup_s
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    break
            except OSError:
                if proc.poll() is not None or time.time() > deadline:
                    proc.kill()
                    out = proc.stdout.read() if proc.stdout else ""
                    raise RuntimeError(f"dashboard did not start: {out}") from None
                time.sleep(0.5)
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        if proc.stdout:
            proc.stdout.close()


@contextmanager
def chrome(profile_dir: Path, width: int = 1280, height: int = 800) -> Iterator[Any]:
    """Headless Chromium at width × height CSS pixels (scale 1), window.alert & co. trapped."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM or ""
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-quic",
                 "--no-first-run", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", f"--user-data-dir={profile_dir}", f"--window-size={width},{height}",
                 "--hide-scrollbars"):
        opts.add_argument(flag)
    drv = webdriver.Chrome(service=Service(CHROMEDRIVER or ""), options=opts)
    drv.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                        {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False})
    drv.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": ALERT_TRAP})
    try:
        yield drv
    finally:
        drv.quit()


def settle(drv: Any, timeout: float = 60) -> None:
    """Wait until Streamlit has finished running the script (its run state, no running indicator, no spinner, no
    skeleton) and charts are drawn."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    time.sleep(1.0)
    WebDriverWait(drv, timeout).until(lambda d: d.find_elements(By.CSS_SELECTOR, IDLE)
                                      and not d.find_elements(By.CSS_SELECTOR, BUSY))
    WebDriverWait(drv, timeout).until(lambda d: all(
        p.find_elements(By.CSS_SELECTOR, ".main-svg") for p in d.find_elements(By.CSS_SELECTOR, '[data-testid="stPlotlyChart"]')))
    time.sleep(1.0)


def wait_for_heading(drv: Any, text: str, timeout: float = 90) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    WebDriverWait(drv, timeout).until(ec.presence_of_element_located((By.XPATH, f'//h1[normalize-space()="{text}"]')))


def open_page(drv: Any, name: str) -> None:
    """Pick `name` in the sidebar's page list and wait until it has rendered."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    label = WebDriverWait(drv, 60).until(ec.element_to_be_clickable(
        (By.XPATH, f'//section[@data-testid="stSidebar"]//label[.//p[normalize-space()="{name}"]]')))
    label.click()
    wait_for_heading(drv, name, 60)
    settle(drv)


def clean_env(**extra: str) -> dict[str, str]:
    """The environment for a dashboard child: this one without any dashboard password or secrets file of the caller."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("BRANDPULSE_DASHBOARD_PASSWORD", "BRANDPULSE_SECRETS_FILE", "BRANDPULSE_CONFIG")}
    env.update(extra)
    return env
