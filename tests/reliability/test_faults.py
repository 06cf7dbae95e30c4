"""Faults on a real `python -m exsim` process (issue #7.3): kill -9 mid-run, SIGINT/SIGTERM,
a second gateway on the same file, read-only / corrupt / truncated / incomplete databases.
Every process is started on a tmp database and a free port, and always stopped."""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

import duckdb
import pytest

from tests.process import REPO, Gateway, http

from ..conftest import make_dataset
from .helpers import FIGURES, RawWs, get_json

pytestmark = pytest.mark.timeout(180)
STARTING_BALANCE = 100000.0


@pytest.fixture(scope="module")
def dataset(tmp_path_factory) -> str:
    """One 2-day synthetic dataset; each test copies it (a gateway writes into its file)."""
    return make_dataset(str(tmp_path_factory.mktemp("faults") / "market.duckdb"), days=2)


@pytest.fixture
def db(dataset, tmp_path) -> str:
    path = str(tmp_path / "exsim.duckdb")
    shutil.copy(dataset, path)
    return path


@pytest.fixture
def gateways():
    started: list[Gateway] = []

    def start(*args, **kwargs) -> Gateway:
        gw = Gateway(*args, **kwargs)
        started.append(gw)
        return gw

    yield start
    for gw in started:
        gw.stop()


def _sha(path: str) -> str:
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def _status(port: int) -> dict:
    status, body = get_json(port, "/admin/status")
    assert status == 200, body
    return body


def _step(port: int, bars: int) -> None:
    status, body = get_json(port, "/admin/step", "POST", {"bars": bars})
    assert status == 200, body


def _trade(port: int, n: int) -> list[int]:
    """n MARKET orders (they fill at once), alternating sides; returns their order ids."""
    ids = []
    for i in range(n):
        side = "BUY" if i % 2 == 0 else "SELL"
        status, _, body = http(port, "POST", f"/fapi/v1/order?symbol=BTCUSDT&side={side}&type=MARKET"
                                             f"&quantity=0.01&newOrderRespType=RESULT")
        order = json.loads(body)
        assert status == 200 and order["status"] == "FILLED", order
        ids.append(order["orderId"])
    return ids


def _rest_limit_then_step(port: int, bars: int) -> None:
    """A resting LIMIT order a little under the market, then bars: the clock may fill it."""
    _, price = get_json(port, "/fapi/v1/ticker/price?symbol=BTCUSDT")
    limit = round(float(price["price"]) * 0.999, 1)
    status, _, body = http(port, "POST", f"/fapi/v1/order?symbol=BTCUSDT&side=BUY&type=LIMIT&timeInForce=GTC"
                                         f"&quantity=0.01&price={limit}")
    assert status == 200, body
    _step(port, bars)


def _client_fills(port: int) -> set[tuple]:
    status, trades = get_json(port, "/fapi/v1/userTrades?symbol=BTCUSDT&limit=1000")
    assert status == 200, trades
    return {(t["id"], t["orderId"], float(t["price"]), float(t["qty"])) for t in trades}


def _query(path: str, sql: str, params: list) -> list[tuple]:
    con = duckdb.connect(path, read_only=True)
    try:
        return con.execute(sql, params).fetchall()
    finally:
        con.close()


def _db_fills(path: str, run_id: str) -> set[tuple]:
    return set(_query(path, "SELECT trade_id, order_id, price, qty FROM trades_fills WHERE run_id = ?::UUID",
                      [run_id]))


def _one_clean_line(text: str) -> str:
    lines = [line for line in text.splitlines() if line.strip()]
    assert "Traceback" not in text, text
    assert len(lines) == 1 and lines[0].startswith("exsim: database error:"), text
    return lines[0]


# --- kill -9 ----------------------------------------------------------------------------------

def test_kill_9_keeps_flushed_fills_and_next_start_is_clean(db, tmp_path, gateways):
    gw = gateways(db, str(tmp_path))
    assert gw.wait_ready(), gw.stderr()
    run1 = _status(gw.port)["run_id"]
    _step(gw.port, 3)
    _trade(gw.port, 6)
    _rest_limit_then_step(gw.port, 30)
    _trade(gw.port, 3)
    acked = _client_fills(gw.port)
    assert len(acked) >= 9
    time.sleep(1.5)  # > flush interval (0.5 s): everything acknowledged is on disk now
    gw.proc.kill()
    assert gw.wait(10) == -signal.SIGKILL

    gw2 = gateways(db, str(tmp_path))
    assert gw2.wait_ready(), gw2.stderr()
    status = _status(gw2.port)
    assert status["run_id"] != run1 and status["run_status"] == "running"
    assert float(status["balance"]) == STARTING_BALANCE and status["position"]["qty"] == 0
    assert get_json(gw2.port, "/fapi/v1/openOrders?symbol=BTCUSDT")[1] == []
    assert get_json(gw2.port, "/fapi/v1/userTrades?symbol=BTCUSDT")[1] == []
    assert "incomplete" in gw2.stderr()  # the start says so in its log
    gw2.signal(signal.SIGTERM)
    assert gw2.wait(10) == 0

    lost = acked - _db_fills(db, run1)
    FIGURES["kill9_fills_acked"] = len(acked)
    FIGURES["kill9_fills_lost"] = len(lost)
    assert not lost, f"fills acknowledged before the last flush but missing after kill -9: {lost}"
    assert _db_fills(db, run1) == acked
    statuses = dict(_query(db, "SELECT run_id::VARCHAR, status FROM run_status", []))
    assert statuses[run1] == "incomplete"
    assert statuses[status["run_id"]] == "stopped"


# --- SIGINT / SIGTERM -----------------------------------------------------------------------

@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_signal_is_graceful(db, tmp_path, gateways, sig):
    gw = gateways(db, str(tmp_path))
    assert gw.wait_ready(), gw.stderr()
    run_id = _status(gw.port)["run_id"]
    ws = RawWs(gw.port, "/ws")
    try:
        ws.send_text(json.dumps({"method": "SUBSCRIBE", "params": ["btcusdt@kline_1m"], "id": 1}))
        assert ws.recv() == (1, b'{"result":null,"id":1}')
        _step(gw.port, 3)
        order_ids = _trade(gw.port, 5)
        _rest_limit_then_step(gw.port, 20)
        order_ids += _trade(gw.port, 2)  # the last fills are not flushed yet when the signal comes
        acked = _client_fills(gw.port)
        began = time.monotonic()
        gw.signal(sig)
        messages, close_code = ws.recv_until_close()
        rc = gw.wait(5)
        elapsed = time.monotonic() - began
    finally:
        ws.close()
    assert rc == 0 and elapsed < 5, (rc, elapsed, gw.stderr()[-2000:])
    assert close_code == 1001, close_code  # GOING_AWAY
    assert "Traceback" not in gw.stderr()
    assert _db_fills(db, run_id) == acked
    orders = {r[0] for r in _query(db, "SELECT DISTINCT order_id FROM orders WHERE run_id = ?::UUID", [run_id])}
    assert set(order_ids) <= orders
    equity = _query(db, "SELECT count(*) FROM equity_curve WHERE run_id = ?::UUID", [run_id])[0][0]
    assert equity >= len(acked)
    assert _query(db, "SELECT status FROM run_status WHERE run_id = ?::UUID", [run_id]) == [("stopped",)]
    FIGURES[f"{signal.Signals(sig).name}_exit_seconds"] = round(elapsed, 2)


# --- a second gateway on the same file ---------------------------------------------------------

def test_second_gateway_on_same_file_exits_3_and_first_keeps_working(db, tmp_path, gateways):
    first = gateways(db, str(tmp_path))
    assert first.wait_ready(), first.stderr()
    _step(first.port, 2)
    second = gateways(db, str(tmp_path))
    assert second.wait(30) == 3
    line = _one_clean_line(second.stderr())
    assert "in use by another process" in line
    # the first one is unaffected: it still serves, trades and steps
    assert http(first.port, "GET", "/fapi/v1/ping")[0] == 200
    _trade(first.port, 2)
    _step(first.port, 2)
    assert _status(first.port)["writer_error"] is None


# --- read-only, corrupt, truncated, incomplete files ---------------------------------------------

def test_read_only_file_mode(dataset, tmp_path, gateways):
    """chmod 444: ExSim refuses it (exit 3) without writing, even as root (no write bit at all)."""
    path = str(tmp_path / "ro.duckdb")
    shutil.copy(dataset, path)
    os.chmod(path, 0o444)
    before = _sha(path)
    gw = gateways(path, str(tmp_path))
    assert gw.wait(30) == 3
    assert "read-only" in _one_clean_line(gw.stderr())
    assert _sha(path) == before and not os.path.exists(path + ".wal")


def test_read_only_file_for_an_unprivileged_user(dataset, gateways):
    """The same file seen by a user who really cannot write it (run as `nobody` when we are root)."""
    if os.geteuid() != 0:
        as_user = None  # we are unprivileged already: chmod 444 is enforced by the kernel
    else:
        try:
            import pwd
            as_user = pwd.getpwnam("nobody").pw_uid
        except KeyError:
            pytest.skip("running as root and there is no 'nobody' user to drop privileges to")
        try:
            subprocess.run([sys.executable, "-c", "import exsim"], user=as_user, group=as_user, extra_groups=[],
                           cwd="/", env={"PYTHONPATH": REPO, "PYTHONDONTWRITEBYTECODE": "1"},
                           capture_output=True, timeout=30, check=True)
        except (PermissionError, subprocess.CalledProcessError) as exc:
            pytest.skip(f"running as root, and user 'nobody' cannot run this Python ({sys.executable}: {exc!r:.120}); "
                        "chmod 444 as root is covered by test_read_only_file_mode (no write bit => refused)")
    work = tempfile.mkdtemp(prefix="exsim-ro-", dir="/tmp")
    try:
        os.chmod(work, 0o755)
        path = os.path.join(work, "ro.duckdb")
        shutil.copy(dataset, path)
        os.chmod(path, 0o644 if as_user is not None else 0o444)  # 644: root-owned, not writable by nobody
        before = _sha(path)
        gw = gateways(path, work, as_user=as_user)
        assert gw.wait(30) == 3, gw.stderr()
        assert "read-only" in _one_clean_line(gw.stderr())
        assert _sha(path) == before and not os.path.exists(path + ".wal")
    finally:
        shutil.rmtree(work, ignore_errors=True)


def test_corrupt_file_random_bytes(tmp_path, gateways):
    path = str(tmp_path / "corrupt.duckdb")
    with open(path, "wb") as f:
        f.write(os.urandom(256 * 1024))
    before = _sha(path)
    gw = gateways(path, str(tmp_path))
    assert gw.wait(30) == 3
    assert "not a valid DuckDB database file" in _one_clean_line(gw.stderr())
    assert _sha(path) == before
    assert sorted(os.listdir(tmp_path)) == sorted(["corrupt.duckdb", "exsim-test.toml",
                                                   os.path.basename(gw.out_path), os.path.basename(gw.err_path)])


@pytest.mark.parametrize("fraction", [0.002, 0.3, 0.5])
def test_truncated_file(dataset, tmp_path, gateways, fraction):
    path = str(tmp_path / "trunc.duckdb")
    with open(dataset, "rb") as src, open(path, "wb") as dst:
        data = src.read()
        dst.write(data[:max(4096, int(len(data) * fraction))])
    before = _sha(path)
    gw = gateways(path, str(tmp_path))
    assert gw.wait(30) == 3, gw.stderr()[-2000:]
    _one_clean_line(gw.stderr())
    assert _sha(path) == before


@pytest.mark.parametrize("tables", [("runs",), ("runs", "run_status"), ("trades_fills", "orders", "equity_curve")])
def test_missing_tables_are_recreated(db, tmp_path, gateways, tables):
    con = duckdb.connect(db)
    for table in tables:
        con.execute(f"DROP TABLE {table}")
    con.close()
    gw = gateways(db, str(tmp_path))
    assert gw.wait_ready(), gw.stderr()
    run_id = _status(gw.port)["run_id"]
    _step(gw.port, 2)
    acked = _client_fills(gw.port) if _trade(gw.port, 2) else set()
    gw.signal(signal.SIGTERM)
    assert gw.wait(10) == 0
    assert "Traceback" not in gw.stderr()
    assert _db_fills(db, run_id) == acked
    assert _query(db, "SELECT count(*) FROM runs WHERE run_id = ?::UUID", [run_id]) == [(1,)]
    assert _query(db, "SELECT status FROM run_status WHERE run_id = ?::UUID", [run_id]) == [("stopped",)]


def test_table_of_another_layout_is_refused(db, tmp_path, gateways):
    con = duckdb.connect(db)
    con.execute("DROP TABLE trades_fills")
    con.execute("CREATE TABLE trades_fills (x INTEGER)")
    con.close()
    before = _sha(db)
    gw = gateways(db, str(tmp_path))
    assert gw.wait(30) == 3
    assert "trades_fills" in _one_clean_line(gw.stderr())
    assert _sha(db) == before
