"""A run with per-key balances (auth = "verify") records each key's starting balance, without its
secret, so run metrics start each account's return and drawdown from its own balance."""
import json

import duckdb

from exsim.store.run_metrics import run_metrics

KEYS = [{"key": "alice" + "a" * 59, "secret": "s" * 64, "balance": 5000.0},
        {"key": "bob" + "b" * 61, "secret": "t" * 64}]


async def test_each_key_starts_from_its_own_balance(exsim_client, db_path):
    c = await exsim_client(auth="verify", api_keys=KEYS, starting_balance=20000.0)
    run_id = (await (await c.get("/admin/status")).json())["run_id"]
    await c.close()
    con = duckdb.connect(db_path, read_only=True)
    try:
        params = json.loads(con.execute("SELECT params_json FROM runs WHERE run_id = ?", [run_id]).fetchall()[0][0])
        assert params["api_keys"] == [{"key": KEYS[0]["key"], "balance": 5000.0}, {"key": KEYS[1]["key"], "balance": None}]
        assert "s" * 64 not in json.dumps(params) and "t" * 64 not in json.dumps(params)
        balances = {a.account: a.starting_balance for a in run_metrics(con, run_id).accounts}
        assert balances == {KEYS[0]["key"]: 5000.0, KEYS[1]["key"]: 20000.0}
    finally:
        con.close()
