"""`exsim report RUN_ID`: one HTML file that opens offline (no http(s) reference, no script, no
stylesheet or image from outside: every chart is an embedded PNG, the same bytes as the PNG
files written beside it) and shows the run's numbers; without matplotlib it says how to get it."""
from __future__ import annotations

import base64
import os
import re
import sys

import duckdb
import pytest

from exsim import cli
from exsim.report import format as fmt
from exsim.store import run_metrics

from tests.conftest import T0

MIN = 60_000
CHARTS = ["equity.png", "drawdown.png", "price_BTCUSDT.png", "trade_pnl.png"]


async def _order(c, side: str, qty: str) -> None:
    r = await c.post("/fapi/v1/order", data={"symbol": "BTCUSDT", "side": side, "type": "MARKET", "quantity": qty})
    assert r.status == 200, await r.text()


@pytest.fixture
async def run(exsim_client, db_path) -> tuple[str, str]:
    c = await exsim_client(symbol="BTCUSDT", start=T0 + 400 * MIN, end=T0 + 700 * MIN)
    for side, qty, bars in (("BUY", "0.05", 40), ("SELL", "0.02", 30), ("SELL", "0.03", 50), ("SELL", "0.04", 60),
                            ("BUY", "0.04", 20)):
        await _order(c, side, qty)
        await c.post("/admin/step", json={"bars": bars})
    await c.post("/admin/step", json={"bars": 1000})
    run_id = (await (await c.get("/admin/status")).json())["run_id"]
    await c.close()
    return db_path, run_id


def test_the_report_opens_offline_and_shows_the_run(run, tmp_path, capsys):
    pytest.importorskip("matplotlib")
    db, run_id = run
    out = str(tmp_path / "report")
    code = cli.main(["report", run_id[:8], "--db", db, "--out", out, "--no-progress"])
    stdout, err = capsys.readouterr()
    assert code == 0, err
    assert "report.html" in stdout and err == ""
    page = open(os.path.join(out, "report.html"), encoding="utf-8").read()

    assert not re.search(r"https?:", page, re.I), "the page refers to something outside it"
    text = re.sub(r"base64,[A-Za-z0-9+/=]+", "base64,", page)  # the page without its images' bytes
    assert not re.search(r"//|url\(|@import", text, re.I), "the page refers to something outside it"
    assert not re.search(r"<(script|link|iframe|object|embed)\b", page, re.I)
    sources = re.findall(r'src="([^"]*)"', page)
    assert len(sources) == len(CHARTS) and all(s.startswith("data:image/png;base64,") for s in sources)
    embedded = [base64.b64decode(s.split(",", 1)[1]) for s in sources]
    files = [open(os.path.join(out, name), "rb").read() for name in CHARTS]
    assert embedded == files and all(png.startswith(b"\x89PNG\r\n\x1a\n") and len(png) > 5000 for png in files)

    con = duckdb.connect(db, read_only=True)
    try:
        m = run_metrics.run_metrics(con, run_id)
    finally:
        con.close()
    a = m.accounts[0]
    assert a.fills == 5 and a.closing_trades == 3  # entries and exits both on the price chart
    assert run_id in page and m.range in page
    for text in (fmt.money(a.net_pnl), fmt.money(a.final_equity), fmt.money(a.realized_pnl), fmt.money(a.fees),
                 fmt.money(a.max_drawdown), fmt.pct(a.max_drawdown_pct), fmt.ratio(a.sharpe), fmt.ratio(a.sortino),
                 fmt.pct(a.win_rate), fmt.pct(a.total_return), fmt.pct(a.exposure)):
        assert text in page, text
    for label, _ in fmt.ACCOUNT_ROWS:
        assert f"<th>{label.replace('>', '&gt;')}</th>" in page, label


def test_without_matplotlib_it_says_how_to_install_it(run, tmp_path, capsys, monkeypatch):
    db, run_id = run
    for name in [n for n in sys.modules if n == "matplotlib" or n.startswith("matplotlib.")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import matplotlib -> ImportError
    code = cli.main(["report", run_id, "--db", db, "--out", str(tmp_path / "r")])
    _, err = capsys.readouterr()
    assert code == 2 and "pip install 'exsim[report]'" in err and len(err.strip().splitlines()) == 1
    assert not os.path.exists(tmp_path / "r")


def test_unknown_run_and_account(run, tmp_path, capsys):
    pytest.importorskip("matplotlib")
    db, run_id = run
    assert cli.main(["report", "ffffffff", "--db", db, "--out", str(tmp_path / "a")]) == 1
    assert "no run ffffffff" in capsys.readouterr().err
    assert cli.main(["report", run_id, "--db", db, "--out", str(tmp_path / "b"), "--account", "nobody"]) == 1
    assert "no account nobody" in capsys.readouterr().err
