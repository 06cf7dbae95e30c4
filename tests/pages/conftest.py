"""Fixtures of the page tests: a headless Chromium per test (skipped only where none can be had)."""
from __future__ import annotations

import pytest

from .browser import start_chrome


@pytest.fixture
def chrome(monkeypatch):
    monkeypatch.setenv("SE_AVOID_STATS", "true")  # Selenium Manager: no telemetry, were it ever run
    driver = start_chrome()
    driver.set_page_load_timeout(60)
    try:
        yield driver
    finally:
        driver.quit()
