"""Commission per symbol from config, served by /fapi/v1/commissionRate and charged on fills;
without configuration, Binance's base tier (maker 0.02 %, taker 0.05 %)."""
from decimal import Decimal

from exsim.config import Config


async def ok(resp):
    body = await resp.json()
    assert resp.status == 200, body
    return body


def test_default_fees_are_binances_base_tier():
    cfg = Config()
    assert (cfg.maker_bps, cfg.taker_bps) == (2.0, 5.0)


async def test_a_symbol_configured_fee_is_served_and_charged(exsim_client):
    c = await exsim_client(symbols=["BTCUSDT", "ETHUSDT"], maker_bps=2.0, taker_bps=5.0,
                           symbol_specs={"ETHUSDT": {"tick_size": "0.01", "step_size": "0.001", "min_notional": "20",
                                                     "maker_bps": 0.0, "taker_bps": 3.5}})
    btc = await ok(await c.get("/fapi/v1/commissionRate", params={"symbol": "BTCUSDT"}))
    eth = await ok(await c.get("/fapi/v1/commissionRate", params={"symbol": "ETHUSDT"}))
    assert (btc["makerCommissionRate"], btc["takerCommissionRate"]) == ("0.000200", "0.000500")
    assert (eth["makerCommissionRate"], eth["takerCommissionRate"]) == ("0.000000", "0.000350")
    await ok(await c.post("/fapi/v1/order", data={"symbol": "ETHUSDT", "side": "BUY", "type": "MARKET",
                                                  "quantity": "1.000"}))
    trade = (await ok(await c.get("/fapi/v1/userTrades", params={"symbol": "ETHUSDT"})))[0]
    assert Decimal(trade["commission"]) == (Decimal(trade["quoteQty"]) * Decimal("0.00035")).quantize(Decimal("1e-8"))
