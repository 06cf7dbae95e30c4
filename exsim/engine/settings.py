"""Account settings as Binance changes them: leverage (bracket-limited), margin type, position
mode (one-way / hedge), multi-assets mode and an isolated position's margin. Each function
checks like Binance and raises its error having changed nothing, or changes the account and
appends the event; `Sim.apply` calls them."""
from __future__ import annotations

import copy
from typing import TYPE_CHECKING

from . import brackets as B
from . import money, risk
from .account import Account
from .errors import ExchangeError, bad_param
from .events import (AccountUpdated, LeverageChanged, MarginTransferred, MarginTypeChanged, MultiAssetsChanged,
                     PositionModeChanged)
from .validation import decimal_param

if TYPE_CHECKING:  # pragma: no cover
    from .sim import Sim

MAX_NOTIONAL_EXCEEDED = (-2027, "Exceeded the maximum allowable position at current leverage.")


def _symbol_has_orders(acct: Account, symbol: str) -> bool:
    return any(o.symbol == symbol for o in acct.open_orders.values())


def _symbol_positions(acct: Account, symbol: str):
    return [p for p in acct.positions.values() if p.symbol == symbol]


def set_leverage(sim: "Sim", acct: Account, symbol: str, leverage: int) -> int:
    inst = sim.instrument(symbol)
    if not 1 <= leverage <= B.max_leverage(inst.brackets):
        raise ExchangeError(-4028, f"Leverage {leverage} is not valid")
    mark = sim.markets[symbol].mark
    cap = B.max_notional(inst.brackets, leverage)
    held = sum(abs(inst.notional(mark, p.amt)) for p in _symbol_positions(acct, symbol))
    if held > cap:
        raise ExchangeError(*MAX_NOTIONAL_EXCEEDED)
    positions = _symbol_positions(acct, symbol) or [acct.settings(symbol)]
    old = positions[0].leverage
    for p in positions:
        p.leverage = leverage
    if any(p.amt for p in positions) and risk.available(sim, acct) <= 0 and leverage < old:
        for p in positions:
            p.leverage = old
        raise ExchangeError(-2028, "Leverage is smaller than permitted: insufficient margin balance.")
    sim.touch(acct)
    sim.log.append(LeverageChanged(time=sim.sim_time, account=acct.name, symbol=symbol, leverage=leverage))
    return leverage


def set_margin_type(sim: "Sim", acct: Account, symbol: str, margin_type: str) -> str:
    sim.instrument(symbol)
    if margin_type not in ("ISOLATED", "CROSSED"):
        raise bad_param("marginType")
    positions = _symbol_positions(acct, symbol) or [acct.settings(symbol)]
    if positions[0].margin_type == margin_type:
        raise ExchangeError(-4046, "No need to change margin type.")
    if _symbol_has_orders(acct, symbol):
        raise ExchangeError(-4047, "Margin type cannot be changed if there exists open orders.")
    if any(p.amt for p in positions):
        raise ExchangeError(-4048, "Margin type cannot be changed if there exists position.")
    for p in positions:
        p.margin_type = margin_type
        p.isolated_wallet = 0
    sim.touch(acct)
    sim.log.append(MarginTypeChanged(time=sim.sim_time, account=acct.name, symbol=symbol, margin_type=margin_type))
    return margin_type


def set_dual_side(sim: "Sim", acct: Account, dual: bool) -> bool:
    if dual == acct.dual_side:
        raise ExchangeError(-4059, "No need to change position side.")
    if acct.open_orders:
        raise ExchangeError(-4067, "Position side cannot be changed if there exists open orders.")
    if any(p.amt for p in acct.positions.values()):
        raise ExchangeError(-4068, "Position side cannot be changed if there exists position.")
    acct.dual_side = dual
    sim.log.append(PositionModeChanged(time=sim.sim_time, account=acct.name, dual_side=dual))
    return dual


def set_multi_assets(sim: "Sim", acct: Account, on: bool) -> bool:
    """Multi-assets mode is answered and remembered; margin stays USDT-only (the one asset
    ExSim simulates), which is what multi-assets mode with USDT alone would compute."""
    if on == acct.multi_assets:
        raise ExchangeError(-4171, "Adjusted Multi-Assets mode is same as current mode.")
    if on and any(p.isolated for p in acct.positions.values()):
        raise ExchangeError(-4168, "Unable to adjust to Multi-Assets mode with symbols of USDⓈ-M Futures "
                                   "under isolated-margin mode.")
    acct.multi_assets = on
    sim.log.append(MultiAssetsChanged(time=sim.sim_time, account=acct.name, multi_assets=on))
    return on


def change_position_margin(sim: "Sim", acct: Account, symbol: str, side: str, amount_text: str,
                           kind: int) -> int:
    """Move margin into (1) or out of (2) an ISOLATED position; returns the amount (units)."""
    inst = sim.instrument(symbol)
    if kind not in (1, 2):
        raise bad_param("type")
    if side not in ("BOTH", "LONG", "SHORT"):
        raise bad_param("positionSide")
    if (side == "BOTH") == acct.dual_side:
        raise ExchangeError(-4061, "Order's position side does not match user's setting.")
    amount = money.of(decimal_param(amount_text, "amount"))
    if amount <= 0:
        raise ExchangeError(-4055, "Amount must be positive.")
    pos = acct.positions.get((symbol, side))
    if pos is None or not pos.amt:
        raise ExchangeError(-4054, "Cannot add position margin: position is 0." if kind == 1
                            else "Cannot reduce position margin: position is 0.")
    if not pos.isolated:
        raise ExchangeError(-4049, "Add margin only support for isolated position.")
    m = sim.markets[symbol]
    if kind == 1:
        if amount > risk.available(sim, acct):
            raise ExchangeError(-4050, "Cross balance insufficient.")
        pos.isolated_wallet += amount
    else:
        # what may leave: the isolated margin above the position's initial margin at mark
        upnl = Account.unrealized(inst, pos, m.mark)
        keep = Account.position_margin(inst, pos, m.mark)
        if amount > pos.isolated_wallet + min(0, upnl) - keep:
            raise ExchangeError(-4051, "Isolated balance insufficient.")
        pos.isolated_wallet -= amount
    sim.touch(acct)
    acct.margin_transfers.append((sim.sim_time, symbol, side, kind, amount))
    sim.log.append(MarginTransferred(time=sim.sim_time, account=acct.name, symbol=symbol, position_side=side,
                                     amount=amount, kind=kind))
    sim.log.append(AccountUpdated(time=sim.sim_time, account=acct.name, reason="MARGIN_TRANSFER",
                                  wallet=acct.wallet, isolated=acct.isolated_wallets(),
                                  positions=[copy.copy(pos)], marks=[m.mark]))
    return amount
