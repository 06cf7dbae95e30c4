"""Reliability suite: prints the figures its tests collected (cases tried, clients, RSS...)."""
from __future__ import annotations

from .helpers import FIGURES


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    if not FIGURES:
        return
    terminalreporter.section("reliability figures")
    for key in sorted(FIGURES):
        terminalreporter.write_line(f"{key}: {FIGURES[key]}")
