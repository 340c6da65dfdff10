#!/usr/bin/env python3
"""Screenshots of the dashboard for the README: the bundled demo in headless Chromium.

Builds the demo store (`brandpulse demo --no-dashboard` into a temporary directory, or reuses --database), serves
the dashboard the way `brandpulse dashboard` does but with Streamlit's toolbar hidden (`client.toolbarMode =
minimal`, checked in the page), opens each page at a desktop size, waits until Streamlit has finished (no running
indicator, no spinner, charts drawn), refuses a page that shows an exception, and writes one PNG per page.
Needs Debian's chromium and chromium-driver and the model the demo scores with.

    python scripts/screenshots.py                          # → docs/screenshots/{overview,mentions,alerts,advocates}.png
    python scripts/screenshots.py --database /tmp/demo.db  # reuse (or keep) a demo store
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from brandpulse.demo import DEMO_CONFIG, demo_settings  # noqa: E402
from brandpulse.serve import dashboard_command, dashboard_env  # noqa: E402
from tests.browser import CHROMEDRIVER, CHROMIUM, chrome, dashboard, open_page, settle, wait_for_heading  # noqa: E402

PAGES = {"Overview": "overview.png", "Mentions": "mentions.png", "Alerts": "alerts.png", "Advocates": "advocates.png"}
MAX_BYTES = 400_000
#: Streamlit's toolbar: the main menu ("⋮") and the Deploy button.
TOOLBAR = '[data-testid="stMainMenu"], [data-testid="stAppDeployButton"], [data-testid="stToolbarActions"] button'


def build_demo(database: Path) -> None:
    if database.exists():
        print(f"reusing {database}")
        return
    print(f"building the demo store in {database} …", flush=True)
    subprocess.run([sys.executable, "-m", "brandpulse", "demo", "--no-dashboard", "--database", str(database)],
                   cwd=REPO, check=True)


def command(port: int) -> list[str]:
    """What `brandpulse dashboard` runs, with the toolbar hidden instead of the viewer's toolbar."""
    cmd = dashboard_command("127.0.0.1", port)
    cmd[cmd.index("--client.toolbarMode") + 1] = "minimal"
    return cmd


def check_page(drv: Any, page: str) -> None:
    from selenium.webdriver.common.by import By

    errors = drv.find_elements(By.CSS_SELECTOR, '[data-testid="stException"]')
    if errors:
        raise SystemExit(f"{page}: the page shows an exception: {errors[0].text[:500]}")
    if drv.find_elements(By.CSS_SELECTOR, TOOLBAR):
        raise SystemExit(f"{page}: Streamlit's toolbar is shown (client.toolbarMode not applied)")


def wait_for_background(drv: Any, timeout: float = 120) -> None:
    """Wait until the Overview's background figures (social NPS, "…" while computed) are on screen."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    WebDriverWait(drv, timeout).until(lambda d: not any(
        m.text.strip() == "…" for m in d.find_elements(By.CSS_SELECTOR, '[data-testid="stMetricValue"]')))
    settle(drv)


def save(drv: Any, path: Path) -> None:
    drv.save_screenshot(str(path))
    if path.stat().st_size > MAX_BYTES:  # a palette of 256 colours: a dashboard has few, charts stay sharp
        from PIL import Image

        with Image.open(path) as img:
            img.convert("RGB").quantize(256).save(path, optimize=True)
    print(f"{path.relative_to(REPO) if path.is_relative_to(REPO) else path}: {path.stat().st_size // 1024} KB")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=REPO / "docs" / "screenshots")
    ap.add_argument("--database", type=Path, help="the demo store to use (built there when missing)")
    ap.add_argument("--width", type=int, default=1400)
    ap.add_argument("--height", type=int, default=1000)
    args = ap.parse_args()
    if not (CHROMIUM and CHROMEDRIVER):
        raise SystemExit("needs chromium and chromedriver (Debian: apt install chromium chromium-driver)")
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="brandpulse-shots-") as tmp:
        database = (args.database or Path(tmp) / "demo.db").resolve()
        build_demo(database)
        env = dashboard_env(demo_settings(database), DEMO_CONFIG)  # no password: bound to 127.0.0.1, no sign-in
        env.pop("BRANDPULSE_DASHBOARD_PASSWORD", None)
        env.pop("BRANDPULSE_SECRETS_FILE", None)
        with dashboard(None, env, cwd=Path(tmp), command=command) as base, \
                chrome(Path(tmp) / "chrome-profile", args.width, args.height) as drv:
            drv.get(base)
            wait_for_heading(drv, "Overview")
            settle(drv)
            wait_for_background(drv)
            for page, name in PAGES.items():
                if page != "Overview":
                    open_page(drv, page)
                check_page(drv, page)
                save(drv, args.out / name)


if __name__ == "__main__":
    main()
