"""Fixtures every client suite uses: the bars the replay will reveal next, and a live server."""
import pytest

from .helpers import upcoming_bars


@pytest.fixture
def bars(db_path):
    return upcoming_bars(db_path)


@pytest.fixture
def server(live_server, bars):  # after `bars`: the look-ahead reads the file before the server opens it
    return live_server()
