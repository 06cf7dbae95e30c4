"""Headless Chromium (Debian's `chromium` + `chromium-driver`, installed by .ci/run) driven by
Selenium, for the page tests. Screenshots go to test-artifacts/ at the repository root."""
from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM = ("/usr/bin/chromium", "/usr/bin/chromium-browser")
CHROMEDRIVER = ("/usr/bin/chromedriver", "/usr/lib/chromium/chromedriver")
WAIT = 30  # s: the longest a condition may take (polling, no fixed sleeps)


def _first(paths) -> str | None:
    for p in paths:
        if os.path.exists(p):
            return p
    return None


def find_browser() -> tuple[str, str]:
    """(chromium, chromedriver), or skip when this machine has no browser to run."""
    browser = _first(CHROMIUM) or shutil.which("chromium")
    driver = _first(CHROMEDRIVER) or shutil.which("chromedriver")
    if not browser or not driver:
        pytest.skip("no headless browser here: `apt-get install -y chromium chromium-driver` "
                    "(.ci/run installs them) could not be run on this machine")
    try:
        import selenium  # noqa: F401
    except ImportError:
        pytest.skip("selenium is not installed (pip install -e '.[test]')")
    return browser, driver


def start_chrome():
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    browser, driver = find_browser()
    options = webdriver.ChromeOptions()
    options.binary_location = browser
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--window-size=1280,900", "--no-first-run", "--no-default-browser-check",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--disable-default-apps", "--disable-extensions", "--metrics-recording-only",
                "--disable-features=Translate,MediaRouter,OptimizationHints",
                "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1"):
        options.add_argument(arg)
    # the driver path is given, so Selenium Manager never runs (it would download a driver)
    return webdriver.Chrome(service=Service(executable_path=driver), options=options)


def screenshot(driver, name: str) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    driver.save_screenshot(str(path))
    return path
