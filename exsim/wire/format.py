"""Engine state -> Binance JSON shapes (numbers as strings where Binance uses strings)."""
from __future__ import annotations

from fractions import Fraction

from ..engine import brackets as B
from ..engine import money as M
from ..engine import risk
from ..engine.account import Account, Income, Position, Trade
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
        "closePosition": order.close_position, "side": order.side, "positionSide": order.position_side,
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
        "positionSide": order.position_side, "timeInForce": order.time_in_force,
        "quantity": inst.qty.fmt(order.qty),
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
        "positionSide": trade.position_side, "buyer": trade.side == "BUY", "maker": trade.is_maker,
    }


def income_json(inc: Income, asset: str = "USDT") -> dict:
    return {"symbol": inc.symbol, "incomeType": inc.income_type, "income": money(inc.income),
            "asset": asset, "info": inc.income_type, "time": inc.time, "tranId": inc.tran_id,
            "tradeId": str(inc.trade_id) if inc.trade_id else ""}


def _position_numbers(sim: Sim, acct: Account, pos: Position) -> dict:
    """Money figures in units (ints); prices (mark, entry, liquidation, break-even) exact Fractions."""
    m = sim.markets[pos.symbol]
    inst = m.inst
    entry = pos.entry(inst)
    notional = inst.notional(m.mark, pos.amt)
    upnl = Account.unrealized(inst, pos, m.mark)
    bep = Fraction(0)
    if pos.amt:
        rate = sim.fees[pos.symbol].taker_rate
        bep = entry * (1 + rate) if pos.amt > 0 else entry * (1 - rate)
    sides = [o for o in acct.open_orders.values() if o.symbol == pos.symbol and o.position_side == pos.side]
    return dict(pos=pos, inst=inst, mark=inst.price.value(m.mark), entry=entry, notional=notional, upnl=upnl,
                im=Account.position_margin(inst, pos, m.mark),
                oim=acct.order_margin(inst, m.mark, pos.side),
                maint=risk.maintenance(inst, pos, m.mark), liq=risk.liquidation_price(sim, acct, pos), bep=bep,
                max_notional=money(B.max_notional(inst.brackets, pos.leverage), 0),
                iso_margin=pos.isolated_wallet + upnl if pos.isolated and pos.amt else 0,
                bids=sum(inst.notional(o.price or o.stop_price, o.remaining) for o in sides if o.side == "BUY"),
                asks=sum(inst.notional(o.price or o.stop_price, o.remaining) for o in sides if o.side == "SELL"))


def margin_type_text(pos: Position) -> str:
    """positionRisk's marginType and ACCOUNT_UPDATE's mt: lower-case "isolated" / "cross"."""
    return "isolated" if pos.isolated else "cross"


def position_risk_v2(sim: Sim, acct: Account, pos: Position) -> dict:
    n = _position_numbers(sim, acct, pos)
    inst = n["inst"]
    return {
        "symbol": pos.symbol, "positionAmt": inst.qty.fmt(pos.amt), "entryPrice": decimal_text(n["entry"]),
        "breakEvenPrice": decimal_text(n["bep"]), "markPrice": decimal_text(n["mark"]),
        "unRealizedProfit": money(n["upnl"]), "liquidationPrice": decimal_text(n["liq"]),
        "leverage": str(pos.leverage), "maxNotionalValue": n["max_notional"], "marginType": margin_type_text(pos),
        "isolatedMargin": money(n["iso_margin"]),
        "isAutoAddMargin": "false",  # a string in v2, as live Binance sends it (a bool in symbolConfig)
        "positionSide": pos.side, "notional": money(n["notional"]), "isolatedWallet": money(pos.isolated_wallet),
        "updateTime": pos.update_time,
    }


def position_risk_v3(sim: Sim, acct: Account, pos: Position) -> dict:
    n = _position_numbers(sim, acct, pos)
    inst = n["inst"]
    return {
        "symbol": pos.symbol, "positionSide": pos.side, "positionAmt": inst.qty.fmt(pos.amt),
        "entryPrice": decimal_text(n["entry"]), "breakEvenPrice": decimal_text(n["bep"]),
        "markPrice": decimal_text(n["mark"]), "unRealizedProfit": money(n["upnl"]),
        "liquidationPrice": decimal_text(n["liq"]), "isolatedMargin": money(n["iso_margin"]),
        "notional": money(n["notional"]), "marginAsset": inst.quote, "isolatedWallet": money(pos.isolated_wallet),
        "initialMargin": money(n["im"] + n["oim"]), "maintMargin": money(n["maint"]),
        "positionInitialMargin": money(n["im"]), "openOrderInitialMargin": money(n["oim"]),
        "adl": adl_quantile(sim, acct, pos), "bidNotional": money(n["bids"]), "askNotional": money(n["asks"]),
        "updateTime": pos.update_time,
    }


def adl_quantile(sim: Sim, acct: Account, pos: Position) -> int:
    """Binance's ADL queue light (0-4; 0 when flat). ExSim has no counterparties to rank
    against, so it ranks the position against itself: unrealized PnL as a share of its margin,
    a profitable highly leveraged position highest, as Binance's LeveragePnL ranking does."""
    if not pos.amt:
        return 0
    m = sim.markets[pos.symbol]
    upnl = Account.unrealized(m.inst, pos, m.mark)
    margin = pos.isolated_wallet if pos.isolated else max(1, risk.cross_wallet(acct))
    if upnl <= 0:
        return 1
    score = Fraction(upnl, max(1, margin)) * pos.leverage
    return 2 if score < 1 else 3 if score < 5 else 4


def listed_positions(sim: Sim, acct: Account, symbols: list[str], active_only: bool) -> list[Position]:
    """The positions rows of positionRisk/account: each symbol's side(s) of the current mode;
    `active_only`: those with a position or open orders (v3)."""
    out = []
    for symbol in symbols:
        has_orders = any(o.symbol == symbol for o in acct.open_orders.values())
        for pos in acct.sides(symbol):
            if not active_only or pos.amt or has_orders:
                out.append(pos)
    return out


def account_totals(sim: Sim, acct: Account) -> dict:
    upnl = sim.unrealized(acct)
    pos_im, ord_im = sim.initial_margin(acct)
    maint = risk.total_maintenance(sim, acct)
    avail = sim.available(acct)
    return {
        "totalInitialMargin": money(pos_im + ord_im), "totalMaintMargin": money(maint),
        "totalWalletBalance": money(acct.wallet), "totalUnrealizedProfit": money(upnl),
        "totalMarginBalance": money(acct.wallet + upnl), "totalPositionInitialMargin": money(pos_im),
        "totalOpenOrderInitialMargin": money(ord_im), "totalCrossWalletBalance": money(risk.cross_wallet(acct)),
        "totalCrossUnPnl": money(risk.unrealized(sim, acct, cross_only=True)), "availableBalance": money(avail),
        "maxWithdrawAmount": money(avail),
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
    for pos in listed_positions(sim, acct, list(sim.markets), active_only=version != 2):
        n = _position_numbers(sim, acct, pos)
        qty = n["inst"].qty.fmt(pos.amt)
        if version == 2:
            positions.append({
                "symbol": pos.symbol, "initialMargin": money(n["im"] + n["oim"]), "maintMargin": money(n["maint"]),
                "unrealizedProfit": money(n["upnl"]), "positionInitialMargin": money(n["im"]),
                "openOrderInitialMargin": money(n["oim"]), "leverage": str(pos.leverage),
                "isolated": pos.isolated, "entryPrice": decimal_text(n["entry"]),
                "breakEvenPrice": decimal_text(n["bep"]), "maxNotional": n["max_notional"],
                "bidNotional": money(n["bids"]), "askNotional": money(n["asks"]), "positionSide": pos.side,
                "positionAmt": qty, "updateTime": pos.update_time})
        else:
            positions.append({
                "symbol": pos.symbol, "positionSide": pos.side, "positionAmt": qty,
                "unrealizedProfit": money(n["upnl"]), "isolatedMargin": money(n["iso_margin"]),
                "notional": money(n["notional"]), "isolatedWallet": money(pos.isolated_wallet),
                "initialMargin": money(n["im"] + n["oim"]), "maintMargin": money(n["maint"]),
                "updateTime": pos.update_time})
    out["positions"] = positions
    return out
