"""`!ticker@arr` and `!miniTicker@arr`: every replayed symbol's tick adds an array holding that
symbol's 24hrTicker / 24hrMiniTicker item (the symbols that changed, as Binance sends them), the
same item the symbol's own `@ticker` / `@miniTicker` stream carries."""
import asyncio
import json


async def test_ticker_arrays_carry_every_symbol(exsim_client):
    c = await exsim_client()  # BTCUSDT and ETHUSDT
    streams = ["!ticker@arr", "!miniTicker@arr", "btcusdt@ticker", "ethusdt@miniTicker"]
    async with c.ws_connect("/stream?streams=" + "/".join(streams)) as ws:
        await c.post("/admin/step", json={"bars": 2})
        got: dict[str, list] = {}
        for _ in range(2 * 2 * 2 + 2 + 2):  # 2 bars x 2 symbols x 2 array streams + 2 + 2
            msg = json.loads((await asyncio.wait_for(ws.receive(), 5)).data)
            got.setdefault(msg["stream"], []).append(msg["data"])
    for name, kind in (("!ticker@arr", "24hrTicker"), ("!miniTicker@arr", "24hrMiniTicker")):
        arrays = got[name]
        assert all(isinstance(a, list) and len(a) == 1 and a[0]["e"] == kind for a in arrays)
        assert sorted(a[0]["s"] for a in arrays) == ["BTCUSDT", "BTCUSDT", "ETHUSDT", "ETHUSDT"]
    btc = [a[0] for a in got["!ticker@arr"] if a[0]["s"] == "BTCUSDT"]
    assert btc == got["btcusdt@ticker"]
    eth = [a[0] for a in got["!miniTicker@arr"] if a[0]["s"] == "ETHUSDT"]
    assert eth == got["ethusdt@miniTicker"]
    t = btc[-1]
    assert {"p", "P", "w", "c", "Q", "o", "h", "l", "v", "q", "O", "C", "F", "L", "n"} <= set(t)
    assert t["n"] == t["L"] - t["F"] + 1 and t["C"] == t["E"] - 1
