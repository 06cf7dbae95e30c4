"""Futures risk as Binance computes it: valuations at mark price, maintenance margin, the
liquidation price, and when a position must be liquidated or its owner warned.

Every figure is an exact integer of money units (engine/money.py) or an exact Fraction of
ticks; marks are `Market.mark` (ticks): the mark-price klines' close when they are loaded, else
the last price.

Liquidation price, Binance's published formula for contract 1 (one-way BOTH, or hedge mode's
LONG and SHORT of one symbol together in cross margin; an ISOLATED position on its own):

      WB - TMM1 + UPNL1 + cum_B + cum_L + cum_S - side_B*|B|*EP_B - |L|*EP_L + |S|*EP_S
 LP = -----------------------------------------------------------------------------------
          |B|*MMR_B + |L|*MMR_L + |S|*MMR_S - side_B*|B| - |L| + |S|

WB is the cross wallet (isolated: the position's isolated wallet); TMM1 and UPNL1 are the
maintenance margin and unrealized PnL of every other cross position (0 when isolated); MMR and
cum come from the leverage bracket (engine/brackets.py) of the position's notional at LP itself
(so the price does not move as the mark does). At LP the margin balance equals the maintenance
margin: a mark at or beyond it liquidates. A MARGIN_CALL comes first, when the margin ratio
(maintenance / margin balance) reaches MARGIN_CALL_RATIO: the same formula with the
maintenance margins divided by that ratio gives the price where it happens.
"""
from __future__ import annotations

from fractions import Fraction
from typing import TYPE_CHECKING, Iterable, NamedTuple, Optional

from . import brackets as B
from . import money
from .account import Account, Position
from .instrument import Instrument

if TYPE_CHECKING:  # pragma: no cover
    from .sim import Sim

# Binance does not publish the margin-call threshold; 80% is what its app warns at.
MARGIN_CALL_RATIO = Fraction(8, 10)
ONE = Fraction(1)


def maintenance(inst: Instrument, pos: Position, mark: int) -> int:
    """Maintenance margin of a position at `mark` (ticks), money units."""
    if not pos.amt:
        return 0
    return B.maintenance(inst.brackets, abs(pos.amt) * mark * inst.unit_notional)


def unrealized(sim: "Sim", acct: Account, cross_only: bool = False) -> int:
    total = 0
    for pos in acct.positions.values():
        if pos.amt and not (cross_only and pos.isolated):
            m = sim.markets[pos.symbol]
            total += Account.unrealized(m.inst, pos, m.mark)
    return total


def equity(sim: "Sim", acct: Account) -> int:
    """Total margin balance: wallet (isolated wallets included) plus every unrealized PnL."""
    return acct.wallet + unrealized(sim, acct)


def cross_wallet(acct: Account) -> int:
    return acct.wallet - acct.isolated_wallets()


def initial_margin(sim: "Sim", acct: Account, cross_only: bool = False) -> tuple[int, int]:
    """(positions', open orders') initial margin in money units."""
    pos_im = 0
    for pos in acct.positions.values():
        if pos.amt and not (cross_only and pos.isolated):
            m = sim.markets[pos.symbol]
            pos_im += Account.position_margin(m.inst, pos, m.mark)
    orders = 0
    if acct.open_orders:
        for symbol in {o.symbol for o in acct.open_orders.values()}:
            m = sim.markets[symbol]
            orders += acct.order_margin(m.inst, m.mark)
    return pos_im, orders


def available(sim: "Sim", acct: Account) -> int:
    """What new exposure may use: the cross margin balance less the cross initial margins."""
    pos_im, ord_im = initial_margin(sim, acct, cross_only=True)
    return max(0, cross_wallet(acct) + unrealized(sim, acct, cross_only=True) - pos_im - ord_im)


def total_maintenance(sim: "Sim", acct: Account, cross_only: bool = False) -> int:
    total = 0
    for pos in acct.positions.values():
        if pos.amt and not (cross_only and pos.isolated):
            m = sim.markets[pos.symbol]
            total += maintenance(m.inst, pos, m.mark)
    return total


# --- the liquidation price ------------------------------------------------------------------

class Level(NamedTuple):
    """Where a contract is liquidated (or warned): the mark price in exact ticks, and whether
    it is reached by the price falling (long exposure) or rising (short exposure)."""

    ticks: Fraction
    falling: bool


def _level(inst: Instrument, group: list[Position], wb: int, others_maint: int, others_upnl: int,
           ratio: Fraction = ONE) -> Optional[Level]:
    """The formula above for `group` (positions of one symbol with amt != 0); maintenance margins
    are divided by `ratio` (1: liquidation, MARGIN_CALL_RATIO: the margin call). None when no
    price liquidates it (LP <= 0, e.g. a 1x long)."""
    unit = inst.unit_notional
    chosen = None
    lp = None
    for _ in range(len(inst.brackets) + 1):
        if chosen is None:  # first guess: the bracket of the position's notional at its entry
            chosen = [B.of_notional(inst.brackets, p.cost) for p in group]
        num = Fraction(wb) - Fraction(others_maint) / ratio + others_upnl
        den = Fraction(0)
        for p, b in zip(group, chosen):
            q = abs(p.amt)
            num += Fraction(b.cum) / ratio
            if p.amt > 0:
                num -= p.cost
                den += q * (b.mmr / ratio - 1)
            else:
                num += p.cost
                den += q * (b.mmr / ratio + 1)
        if not den:
            return None
        lp = num / (den * unit)
        if lp <= 0:
            return None
        again = [B.of_notional(inst.brackets, int(abs(p.amt) * lp * unit)) for p in group]
        if again == chosen:
            break
        chosen = again
    return Level(lp, den < 0)


def contracts(acct: Account, symbol: str) -> list[tuple[list[Position], bool]]:
    """The symbol's contracts in the formula's sense: its open cross positions together, and
    each open isolated position alone; (positions, isolated)."""
    cross: list[Position] = []
    out: list[tuple[list[Position], bool]] = []
    for side in ("BOTH", "LONG", "SHORT"):
        pos = acct.positions.get((symbol, side))
        if pos is None or not pos.amt:
            continue
        if pos.isolated:
            out.append(([pos], True))
        else:
            cross.append(pos)
    if cross:
        out.insert(0, (cross, False))
    return out


def contract_level(sim: "Sim", acct: Account, group: list[Position], isolated: bool,
                   ratio: Fraction = ONE) -> Optional[Level]:
    inst = sim.instruments[group[0].symbol]
    if isolated:
        return _level(inst, group, group[0].isolated_wallet, 0, 0, ratio)
    symbol = group[0].symbol
    others_maint = others_upnl = 0
    for pos in acct.positions.values():
        if pos.amt and not pos.isolated and pos.symbol != symbol:
            m = sim.markets[pos.symbol]
            others_maint += maintenance(m.inst, pos, m.mark)
            others_upnl += Account.unrealized(m.inst, pos, m.mark)
    return _level(inst, group, cross_wallet(acct), others_maint, others_upnl, ratio)


def liquidation_price(sim: "Sim", acct: Account, pos: Position) -> Fraction:
    """positionRisk's liquidationPrice of `pos`, USDT (0: none)."""
    if not pos.amt:
        return Fraction(0)
    for group, isolated in contracts(acct, pos.symbol):
        if pos in group:
            lvl = contract_level(sim, acct, group, isolated)
            return lvl.ticks * sim.instruments[pos.symbol].price.size if lvl else Fraction(0)
    return Fraction(0)


def reached(level: Optional[Level], low: int, high: int) -> bool:
    if level is None:
        return False
    return low <= level.ticks if level.falling else high >= level.ticks


class Watch(NamedTuple):
    """An account's contract in one symbol with its liquidation and margin-call levels."""

    group: list[Position]
    isolated: bool
    liq: Optional[Level]
    call: Optional[Level]


class RiskWatch:
    """Levels per (account, symbol), recomputed only when they can have changed: the account
    changed (`Account.version`), or, for a cross contract, another symbol's mark moved.

    Per symbol it also keeps the nearest levels of all accounts as two integer bounds, so the
    price segments that reach none of them (nearly all) cost two comparisons."""

    def __init__(self, sim: "Sim") -> None:
        self.sim = sim
        self._cache: dict[tuple[str, str], tuple[object, list[Watch]]] = {}

    def clear(self) -> None:
        self._cache.clear()
        for m in self.sim.by_index:
            m.risk_bounds = None

    def _marks_matter(self, accounts: list[Account]) -> bool:
        """Whether an account holds cross positions in several symbols (its levels then move
        with the other symbols' marks)."""
        return any(len({p.symbol for p in a.positions.values() if p.amt and not p.isolated}) > 1
                   for a in accounts)

    def _reach(self, accounts: list[Account], symbol: str) -> tuple[float, float]:
        """A segment whose low is above `low` and whose high is below `high` reaches no level
        (an account waiting to recover from a margin call is always checked)."""
        low, high = float("-inf"), float("inf")
        for acct in accounts:
            if acct.margin_call:
                return float("inf"), float("-inf")
            for w in self.watches(acct, symbol):
                for lvl in (w.liq, w.call):
                    if lvl is None:
                        continue
                    t = lvl.ticks
                    if lvl.falling:
                        low = max(low, t.numerator // t.denominator)
                    else:
                        high = min(high, -((-t.numerator) // t.denominator))
        return low, high

    def watches(self, acct: Account, symbol: str) -> list[Watch]:
        sim = self.sim
        others = tuple(sim.markets[p.symbol].mark for p in acct.positions.values()
                       if p.amt and not p.isolated and p.symbol != symbol)
        key = (acct.version, others)
        hit = self._cache.get((acct.name, symbol))
        if hit is not None and hit[0] == key:
            return hit[1]
        out = [Watch(g, iso, contract_level(sim, acct, g, iso), contract_level(sim, acct, g, iso, MARGIN_CALL_RATIO))
               for g, iso in contracts(acct, symbol)]
        self._cache[(acct.name, symbol)] = (key, out)
        return out

    def check(self, accounts: Iterable[Account], symbol: str, low: int, high: int, close: int) -> list:
        """(account, watch, what) for each contract the mark path low..high reaches: what is
        "call" (margin ratio at MARGIN_CALL_RATIO, first time) or "liquidate"."""
        accounts = list(accounts)
        sim = self.sim
        m = sim.markets[symbol]
        # the nearest levels, valid while nothing they depend on changes: no account change
        # (sim.risk_epoch) and, when an account holds cross positions in several symbols, the
        # same marks (Sim.on_segment skips this call while a segment stays inside them)
        b = m.risk_bounds
        marks = [x.mark for x in sim.by_index]
        if b is None or b[0] != sim.risk_epoch or (b[1] is not None and b[1] != marks):
            low_b, high_b = self._reach(accounts, symbol)
            m.risk_bounds = b = (sim.risk_epoch, marks if self._marks_matter(accounts) else None, low_b, high_b)
        if low > b[2] and high < b[3]:
            return []
        hits = []
        for acct in accounts:
            pos = acct.positions
            if (symbol, "BOTH") not in pos and (symbol, "LONG") not in pos and (symbol, "SHORT") not in pos:
                continue
            for w in self.watches(acct, symbol):
                if reached(w.liq, low, high):
                    if not acct.margin_call and w.call is not None:
                        hits.append((acct, w, "call"))
                    hits.append((acct, w, "liquidate"))
                elif reached(w.call, low, high):
                    if not acct.margin_call:
                        hits.append((acct, w, "call"))
                elif w.call is not None and acct.margin_call and not reached(w.call, close, close):
                    acct.margin_call = False  # recovered: the next approach warns again
                    self.sim.risk_epoch += 1
        return hits


def liquidation_fill_ticks(level: Level) -> int:
    """The tick a liquidation fills at: the formula price, rounded against the position (a long
    is sold at the tick at or below it, a short bought at the tick at or above it)."""
    t = level.ticks
    return t.numerator // t.denominator if level.falling else -((-t.numerator) // t.denominator)


def worst_loss_first(sim: "Sim", acct: Account) -> list[Position]:
    """Open cross positions, the largest unrealized loss first (ties: symbol order)."""
    order = {s: i for i, s in enumerate(sim.markets)}
    cross = [p for p in acct.positions.values() if p.amt and not p.isolated]
    return sorted(cross, key=lambda p: (Account.unrealized(sim.instruments[p.symbol], p, sim.markets[p.symbol].mark),
                                        order[p.symbol]))


def margin_ratio_breached(sim: "Sim", acct: Account) -> bool:
    """Cross margin balance at or below the cross maintenance margin (Binance's 100%)."""
    mb = cross_wallet(acct) + unrealized(sim, acct, cross_only=True)
    mm = total_maintenance(sim, acct, cross_only=True)
    return mm > 0 and mb <= mm


def fee(inst: Instrument, price: int, qty: int) -> int:
    """The liquidation clearance fee: exchangeInfo's liquidationFee of the notional."""
    return money.scale(inst.liquidation_fee, inst.notional(price, qty))
