"""Funding: at each funding time of a symbol, the positions open then pay (rate > 0, longs) or
receive |amt| x mark x rate; an isolated position pays from (or into) its own margin. The
schedule (loaded rates, else the configured constant every 8 h) is the Market's."""
from __future__ import annotations

import copy
from fractions import Fraction
from typing import TYPE_CHECKING

from . import money
from .commands import ApplyFunding
from .events import AccountUpdated, FundingSettled
from .market import Market

if TYPE_CHECKING:  # pragma: no cover
    from .sim import Sim


def settle(sim: "Sim", m: Market) -> None:
    """Every funding time of `m` the sim time has reached, settled in order (a command each)."""
    while sim.sim_time >= m.next_funding_time:
        when, rate = m.advance_funding()
        sim.apply(ApplyFunding(symbol=m.inst.symbol, funding_time=when, rate=rate))

def pay(sim: "Sim", m: Market, when: int, rate: Fraction) -> int:
    """Positions open at a funding time pay (rate > 0, longs) or receive amt*mark*rate."""
    symbol = m.inst.symbol
    sim.log.append(FundingSettled(time=when, symbol=symbol, rate=str(float(rate))))
    paid = 0
    for acct in list(sim._exposed.values()):
        for pos in [p for p in acct.positions.values() if p.symbol == symbol and p.amt]:
            if not rate:
                continue
            # at the mark price; an isolated position pays from (or into) its own margin
            pay = money.scale(rate, m.inst.notional(m.mark, pos.amt))
            acct.wallet -= pay
            if pos.isolated:
                pos.isolated_wallet -= pay
            acct.update_time = when
            sim.touch(acct)
            sim._income(acct, symbol, "FUNDING_FEE", -pay, when)
            listed = [copy.copy(pos)] if pos.isolated else []  # Binance lists only isolated ones
            sim.log.append(AccountUpdated(time=when, account=acct.name, reason="FUNDING_FEE",
                                           wallet=acct.wallet, isolated=acct.isolated_wallets(),
                                           positions=listed, marks=[m.mark] if listed else [], change=-pay))
            paid += 1
    return paid
