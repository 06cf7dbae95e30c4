"""Liquidation: what the exchange does when a contract's mark reaches its liquidation price
(engine/risk.py says when, and at what price).

1. The account is warned first: a MARGIN_CALL once its margin ratio reaches 80%.
2. Its open orders are cancelled: every cross symbol's for a cross contract, the symbol's for an
   isolated position.
3. The contract's positions are closed by a LIQUIDATION order (client id `autoclose-...`) at
   the formula's price, rounded to the tick against the position. For a cross contract, while
   the cross margin balance is still at or below the cross maintenance margin, the cross
   position with the largest unrealized loss is closed next, at its own liquidation price or
   the mark if the mark is already past it (the market never gives a better price than it is
   at).
4. Each close pays the liquidation clearance fee (exchangeInfo `liquidationFee` x notional,
   income INSURANCE_CLEAR), at most what is left of the margin; the fee goes to the insurance
   fund. A wallet that ends below zero is brought back to zero by the insurance fund (income
   INSURANCE_CLEAR, positive): the loss beyond the margin is the fund's, never the trader's.
"""
from __future__ import annotations

import copy
from typing import TYPE_CHECKING

from . import risk
from .account import Account, Position, Trade
from .events import AccountUpdated, MarginCalled
from .orders import BUY, CANCELED, FILLED, LIQUIDATION, SELL, Order

if TYPE_CHECKING:  # pragma: no cover
    from .sim import Sim


def margin_call(sim: "Sim", acct: Account, watch: risk.Watch) -> None:
    acct.margin_call = True
    sim.risk_epoch += 1
    marks = [sim.markets[p.symbol].mark for p in watch.group]
    maint = [risk.maintenance(sim.instruments[p.symbol], p, mk) for p, mk in zip(watch.group, marks)]
    sim.log.append(MarginCalled(time=sim.sim_time, account=acct.name,
                                cross_wallet=None if watch.isolated else risk.cross_wallet(acct),
                                positions=[copy.copy(p) for p in watch.group], marks=marks, maint=maint))


def liquidate(sim: "Sim", acct: Account, watch: risk.Watch) -> None:
    group = [p for p in watch.group if p.amt]
    if not group:
        return  # already closed by an earlier liquidation in this segment
    level = risk.contract_level(sim, acct, group, watch.isolated)
    if level is None:
        return
    symbol = group[0].symbol
    doomed = [o for o in acct.open_orders.values()
              if (o.symbol == symbol if watch.isolated else not acct.settings(o.symbol).isolated)]
    for order in doomed:
        sim._close(acct, order, CANCELED)
    price = max(1, risk.liquidation_fill_ticks(level))
    for pos in group:
        _close_position(sim, acct, pos, price)
    if not watch.isolated:
        _cascade(sim, acct)
    _cover_deficit(sim, acct, symbol)
    sim._track_exposure(acct)
    acct.margin_call = False
    sim.risk_epoch += 1


def _cascade(sim: "Sim", acct: Account) -> None:
    for _ in range(len(acct.positions)):  # each round closes one position: bounded
        if not risk.margin_ratio_breached(sim, acct):
            return
        pos = risk.worst_loss_first(sim, acct)[0]
        mark = sim.markets[pos.symbol].mark
        group = [p for p in acct.positions.values() if p.symbol == pos.symbol and p.amt and not p.isolated]
        level = risk.contract_level(sim, acct, group, False)
        for p in group:
            price = mark
            if level is not None:
                at = risk.liquidation_fill_ticks(level)
                price = min(at, mark) if p.amt > 0 else max(at, mark)
            _close_position(sim, acct, p, max(1, price))


def _close_position(sim: "Sim", acct: Account, pos: Position, price: int) -> None:
    m = sim.markets[pos.symbol]
    inst = m.inst
    qty = abs(pos.amt)
    side = SELL if pos.amt > 0 else BUY
    now = sim.sim_time
    oid = sim.draw_order_id()
    order = Order(order_id=oid, client_order_id=f"autoclose-{now}{oid:06d}", account=acct.name,
                  symbol=pos.symbol, side=side, type=LIQUIDATION, orig_type=LIQUIDATION, time_in_force="IOC",
                  qty=qty, price=price, reduce_only=True, time=now, update_time=now, position_side=pos.side)
    acct.orders[oid] = order
    value = inst.notional(price, qty)
    realized = value - pos.cost if pos.amt > 0 else pos.cost - value
    margin_left = (pos.isolated_wallet if pos.isolated else risk.cross_wallet(acct)) + realized
    fee = min(risk.fee(inst, price, qty), max(0, margin_left))
    acct.apply_fill(inst, pos, 1 if side == BUY else -1, price, qty, fee, now)
    sim.risk_epoch += 1
    sim.insurance_fund += fee
    order.executed, order.cum_quote_units, order.status = qty, price * qty, FILLED
    trade = Trade(trade_id=sim.draw_trade_id(), order_id=oid, symbol=pos.symbol, side=side, price=price, qty=qty,
                  realized_pnl=realized, fee=fee, is_maker=False, time=now, position_side=pos.side)
    acct.trades.append(trade)
    sim._order_event(acct, order, "TRADE", trade)
    sim.log.append(AccountUpdated(time=now, account=acct.name, reason="ORDER", wallet=acct.wallet,
                                  isolated=acct.isolated_wallets(),
                                  positions=[copy.copy(pos)], marks=[m.mark]))
    if realized:
        sim._income(acct, pos.symbol, "REALIZED_PNL", realized, now, trade.trade_id)
    if fee:
        sim._income(acct, pos.symbol, "INSURANCE_CLEAR", -fee, now, trade.trade_id)
    sim._equity_point(acct, sim.equity(acct))


def _cover_deficit(sim: "Sim", acct: Account, symbol: str) -> None:
    deficit = -risk.cross_wallet(acct)
    if deficit <= 0:
        return
    acct.wallet += deficit
    sim.touch(acct)
    sim.insurance_fund -= deficit
    sim._income(acct, symbol, "INSURANCE_CLEAR", deficit, sim.sim_time)
    sim.log.append(AccountUpdated(time=sim.sim_time, account=acct.name, reason="INSURANCE_CLEAR",
                                  wallet=acct.wallet, isolated=acct.isolated_wallets(), positions=[],
                                  change=deficit))
