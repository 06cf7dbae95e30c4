"""Engine state -> Binance JSON shapes (numbers as strings where Binance uses strings)."""
from __future__ import annotations

from fractions import Fraction

from ..engine import money as M
from ..engine.account import Account, Income, Trade
from ..engine.instrument import Instrument
from ..engine.orders import NEW, TRAILING_STOP_MARKET, Order
from ..engine.sim import Sim


money = M.text  # money units -> text, half-even to 8 decimals unless told


def decimal_text(x: Fraction, decimals: int = 8) -> str:
    """An exact price or rate as text, rounded half-even to `decimals`."""
    return M.fixed(M.scale(x, 10 ** decimals), decimals)


def avg_price_text(inst: Instrument, order: Order, decimals: int) -> str:
    """Average fill price (sum of price x qty over qty), half-even to `decimals` (>= the tick's),
    in integers: it is in every order reply."""
    if not order.executed:
        return M.fixed(0, decimals)
    p = inst.price
    scaled = M.div_round(order.cum_quote_units * p.units * 10 ** (decimals - p.decimals), order.executed)
    return M.fixed(scaled, decimals)


def order_json(inst: Instrument, order: Order, *, ack: bool = False, with_time: bool = False) -> dict:
    """The order object of POST/GET/DELETE /fapi/v1/order. `ack` shows it as accepted
    (Binance's default ACK reply carries no execution details)."""
    executed = 0 if ack else order.executed
    status = NEW if ack and order.status != "EXPIRED" else order.status
    avg_dec = max(inst.price.decimals, 2)
    out = {
        "orderId": order.order_id, "symbol": order.symbol, "status": status,
        "clientOrderId": order.client_order_id, "price": inst.price.fmt(order.price),
        "avgPrice": M.fixed(0, avg_dec) if ack else avg_price_text(inst, order, avg_dec),
        "origQty": inst.qty.fmt(order.qty), "executedQty": inst.qty.fmt(executed),
        "cumQty": inst.qty.fmt(executed),
        "cumQuote": money(0 if ack else order.cum_quote_units * inst.unit_notional,
                          inst.price.decimals + inst.qty.decimals),
        "timeInForce": order.time_in_force, "type": order.type if order.triggered else order.orig_type,
        "origType": order.orig_type, "reduceOnly": order.reduce_only,
        "closePosition": order.close_position, "side": order.side, "positionSide": "BOTH",
        "stopPrice": inst.price.fmt(order.stop_price), "workingType": order.working_type,
        "priceProtect": order.price_protect, "priceMatch": "NONE", "selfTradePreventionMode": "NONE",
        "goodTillDate": order.good_till_date, "updateTime": order.time if ack else order.update_time,
    }
    if order.orig_type == TRAILING_STOP_MARKET:
        out["activatePrice"] = inst.price.fmt(order.activation_price)
        out["priceRate"] = decimal_text(order.callback_rate, 1)
    if with_time:
        out["time"] = order.time
    return out


def algo_json(inst: Instrument, order: Order) -> dict:
    status = {"NEW": "NEW", "CANCELED": "CANCELED", "EXPIRED": "EXPIRED"}.get(order.status, "FINISHED")
    if order.is_open and order.triggered:
        status = "TRIGGERED"
    return {
        "algoId": order.algo_id, "clientAlgoId": order.client_algo_id, "algoType": "CONDITIONAL",
        "orderType": order.orig_type, "symbol": order.symbol, "side": order.side,
        "positionSide": "BOTH", "timeInForce": order.time_in_force, "quantity": inst.qty.fmt(order.qty),
        "algoStatus": status, "triggerPrice": inst.price.fmt(order.stop_price),
        "price": inst.price.fmt(order.price), "icebergQuantity": None,
        "selfTradePreventionMode": "NONE", "workingType": order.working_type, "priceMatch": "NONE",
        "closePosition": order.close_position, "priceProtect": order.price_protect,
        "reduceOnly": order.reduce_only, "activatePrice": inst.price.fmt(order.activation_price),
        "callbackRate": decimal_text(order.callback_rate, 1), "createTime": order.time,
        "updateTime": order.update_time, "triggerTime": order.trigger_time,
        "goodTillDate": order.good_till_date,
        "actualOrderId": str(order.order_id) if order.triggered else "",
        "actualPrice": avg_price_text(inst, order, inst.price.decimals) if order.executed else "0",
        "actualQty": inst.qty.fmt(order.executed),
    }


def trade_json(inst: Instrument, trade: Trade) -> dict:
    quote = inst.notional(trade.price, trade.qty)
    return {
        "symbol": trade.symbol, "id": trade.trade_id, "orderId": trade.order_id, "side": trade.side,
        "price": inst.price.fmt(trade.price), "qty": inst.qty.fmt(trade.qty),
        "realizedPnl": money(trade.realized_pnl), "quoteQty": money(quote, inst.price.decimals + inst.qty.decimals),
        "commission": money(trade.fee), "commissionAsset": inst.quote, "time": trade.time,
        "positionSide": "BOTH", "buyer": trade.side == "BUY", "maker": trade.is_maker,
    }


def income_json(inc: Income, asset: str = "USDT") -> dict:
    return {"symbol": inc.symbol, "incomeType": inc.income_type, "income": money(inc.income),
            "asset": asset, "info": inc.income_type, "time": inc.time, "tranId": inc.tran_id,
            "tradeId": str(inc.trade_id) if inc.trade_id else ""}


def _position_numbers(sim: Sim, acct: Account, symbol: str) -> dict:
    """Money figures in units (ints); prices (mark, entry, liquidation, break-even) exact Fractions."""
    m = sim.markets[symbol]
    inst = m.inst
    pos = acct.position(symbol)
    mark = inst.price.value(m.last)
    entry = pos.entry(inst)
    notional = inst.notional(m.last, pos.amt)
    upnl = acct.unrealized(inst, m.last)
    im = acct.position_margin(inst, m.last)
    oim = acct.order_margin(inst, m.last)
    mmr = Fraction(4, 1000)  # first bracket of BTCUSDT; enough for liquidation estimates
    maint = M.scale(mmr, abs(notional))
    liq = Fraction(0)
    bep = Fraction(0)
    if pos.amt:
        amt = pos.amt * inst.qty.size
        s = 1 if amt > 0 else -1
        denom = abs(amt) * mmr - s * abs(amt)
        if denom:
            liq = max(Fraction(0), (M.usdt(acct.wallet) - s * abs(amt) * entry) / denom)
        rate = sim.fee_model.taker_rate
        bep = entry * (1 + rate) if amt > 0 else entry * (1 - rate)
    return dict(pos=pos, inst=inst, mark=mark, entry=entry, notional=notional, upnl=upnl, im=im,
                oim=oim, maint=maint, liq=liq, bep=bep)


def position_risk_v2(sim: Sim, acct: Account, symbol: str) -> dict:
    n = _position_numbers(sim, acct, symbol)
    inst, pos = n["inst"], n["pos"]
    return {
        "symbol": symbol, "positionAmt": inst.qty.fmt(pos.amt), "entryPrice": decimal_text(n["entry"]),
        "breakEvenPrice": decimal_text(n["bep"]), "markPrice": decimal_text(n["mark"]),
        "unRealizedProfit": money(n["upnl"]), "liquidationPrice": decimal_text(n["liq"]),
        "leverage": str(pos.leverage), "maxNotionalValue": "100000000",
        "marginType": "cross" if pos.margin_type == "CROSSED" else "isolated",
        "isolatedMargin": "0.00000000", "isAutoAddMargin": "false", "positionSide": "BOTH",
        "notional": money(n["notional"]), "isolatedWallet": "0", "updateTime": pos.update_time,
    }


def position_risk_v3(sim: Sim, acct: Account, symbol: str) -> dict:
    n = _position_numbers(sim, acct, symbol)
    inst, pos = n["inst"], n["pos"]
    return {
        "symbol": symbol, "positionSide": "BOTH", "positionAmt": inst.qty.fmt(pos.amt),
        "entryPrice": decimal_text(n["entry"]), "breakEvenPrice": decimal_text(n["bep"]),
        "markPrice": decimal_text(n["mark"]), "unRealizedProfit": money(n["upnl"]),
        "liquidationPrice": decimal_text(n["liq"]), "isolatedMargin": "0", "notional": money(n["notional"]),
        "marginAsset": inst.quote, "isolatedWallet": "0", "initialMargin": money(n["im"] + n["oim"]),
        "maintMargin": money(n["maint"]), "positionInitialMargin": money(n["im"]),
        "openOrderInitialMargin": money(n["oim"]), "adl": 0, "bidNotional": "0", "askNotional": "0",
        "updateTime": pos.update_time,
    }


def account_totals(sim: Sim, acct: Account) -> dict:
    upnl = sim.unrealized(acct)
    pos_im, ord_im = sim.initial_margin(acct)
    maint = sum(_position_numbers(sim, acct, s)["maint"] for s in sim.markets)
    avail = sim.available(acct)
    return {
        "totalInitialMargin": money(pos_im + ord_im), "totalMaintMargin": money(maint),
        "totalWalletBalance": money(acct.wallet), "totalUnrealizedProfit": money(upnl),
        "totalMarginBalance": money(acct.wallet + upnl), "totalPositionInitialMargin": money(pos_im),
        "totalOpenOrderInitialMargin": money(ord_im), "totalCrossWalletBalance": money(acct.wallet),
        "totalCrossUnPnl": money(upnl), "availableBalance": money(avail), "maxWithdrawAmount": money(avail),
    }


def asset_json(sim: Sim, acct: Account, v2: bool) -> dict:
    t = account_totals(sim, acct)
    out = {
        "asset": "USDT", "walletBalance": t["totalWalletBalance"], "unrealizedProfit": t["totalUnrealizedProfit"],
        "marginBalance": t["totalMarginBalance"], "maintMargin": t["totalMaintMargin"],
        "initialMargin": t["totalInitialMargin"], "positionInitialMargin": t["totalPositionInitialMargin"],
        "openOrderInitialMargin": t["totalOpenOrderInitialMargin"],
        "crossWalletBalance": t["totalCrossWalletBalance"], "crossUnPnl": t["totalCrossUnPnl"],
        "availableBalance": t["availableBalance"], "maxWithdrawAmount": t["maxWithdrawAmount"],
        "updateTime": acct.update_time or sim.sim_time,
    }
    if v2:
        out["marginAvailable"] = True
    return out


def balance_json(sim: Sim, acct: Account) -> list[dict]:
    t = account_totals(sim, acct)
    return [{"accountAlias": "SgsR", "asset": "USDT", "balance": t["totalWalletBalance"],
             "crossWalletBalance": t["totalCrossWalletBalance"], "crossUnPnl": t["totalCrossUnPnl"],
             "availableBalance": t["availableBalance"], "maxWithdrawAmount": t["maxWithdrawAmount"],
             "marginAvailable": True, "updateTime": acct.update_time or sim.sim_time}]


def account_json(sim: Sim, acct: Account, version: int) -> dict:
    out = {"feeTier": 0, "feeBurn": False, "canTrade": True, "canDeposit": True, "canWithdraw": True,
           "updateTime": 0, "multiAssetsMargin": acct.multi_assets, "tradeGroupId": -1}
    out.update(account_totals(sim, acct))
    out["assets"] = [asset_json(sim, acct, version == 2)]
    positions = []
    for symbol in sim.markets:
        pos = acct.position(symbol)
        has_orders = any(o.symbol == symbol for o in acct.open_orders.values())
        if version == 2:
            n = _position_numbers(sim, acct, symbol)
            positions.append({
                "symbol": symbol, "initialMargin": money(n["im"] + n["oim"]), "maintMargin": money(n["maint"]),
                "unrealizedProfit": money(n["upnl"]), "positionInitialMargin": money(n["im"]),
                "openOrderInitialMargin": money(n["oim"]), "leverage": str(pos.leverage),
                "isolated": pos.margin_type == "ISOLATED", "entryPrice": decimal_text(n["entry"]),
                "breakEvenPrice": decimal_text(n["bep"]), "maxNotional": "100000000", "bidNotional": "0",
                "askNotional": "0", "positionSide": "BOTH", "positionAmt": n["inst"].qty.fmt(pos.amt),
                "updateTime": pos.update_time})
        elif pos.amt or has_orders:
            n = _position_numbers(sim, acct, symbol)
            positions.append({
                "symbol": symbol, "positionSide": "BOTH", "positionAmt": n["inst"].qty.fmt(pos.amt),
                "unrealizedProfit": money(n["upnl"]), "isolatedMargin": "0", "notional": money(n["notional"]),
                "isolatedWallet": "0", "initialMargin": money(n["im"] + n["oim"]),
                "maintMargin": money(n["maint"]), "updateTime": pos.update_time})
    out["positions"] = positions
    return out
