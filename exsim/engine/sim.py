"""`Sim`: the one object that owns a replay's state — market, accounts, orders, run — and the
rules that change it. The clock feeds it price segments; routes call its methods. It knows
nothing of HTTP or DuckDB: it reports through the hooks in engine/events.py.
"""
from __future__ import annotations

import random
import uuid
from decimal import Decimal
from fractions import Fraction
from typing import Callable, Iterable, Optional

from ..config import Config
from ..timeutil import FUNDING_PERIOD_MS
from . import errors as E
from . import matching, money, validation
from .account import Account, Income, Trade
from .errors import ExchangeError, bad_param, missing_param, reject
from .events import AccountListener, MarketListener, Recorder
from .fees import BpsSlippage, MakerTakerFee
from .instrument import Instrument
from .orders import BUY, CANCELED, CONDITIONAL, EXPIRED, FILLED, LIMIT, MARKET, Order
from .requests import NewOrder

DEFAULT_ACCOUNT = "default"
CLIENT_ID_SEED = "exsim-client-order-ids"


class Market:
    """Replay state of one symbol: the last price and the bar as known so far."""

    def __init__(self, inst: Instrument, interval_ms: int) -> None:
        self.inst = inst
        self.interval_ms = interval_ms
        self.last = 0  # ticks; 0 until the first bar is revealed
        self.bar: Optional[tuple] = None  # (ts, o, h, l, c, v) of the current/last bar so far
        self.bar_final = True
        self.funding: list[tuple[int, Fraction]] = []  # (time, rate) ahead of sim time
        self.funding_idx = 0
        self.last_funding_rate = Fraction(0)
        self.constant_rate: Optional[Fraction] = None
        self.next_funding_time = 0
        self.run_start = 0

    def set_funding(self, rows: Iterable[tuple[int, float]], constant_rate: float, start: int) -> None:
        # rates may come as Fractions already (converted off the event loop: see wire/replay.py)
        self.funding = [(int(t), r if isinstance(r, Fraction) else Fraction(Decimal(str(r)))) for t, r in rows]
        self.funding_idx = 0
        self.run_start = start
        self.constant_rate = None if self.funding else Fraction(Decimal(str(constant_rate)))
        self.last_funding_rate = self.constant_rate or Fraction(0)
        self.next_funding_time = (self.funding[0][0] if self.funding
                                  else (start // FUNDING_PERIOD_MS + 1) * FUNDING_PERIOD_MS)


class Sim:
    def __init__(self, cfg: Config, recorder: Recorder | None = None) -> None:
        self.cfg = cfg
        self.recorder = recorder or Recorder()
        self.market_listener: MarketListener = MarketListener()
        self.account_listeners: list[AccountListener] = []
        self.fee_model = MakerTakerFee.from_bps(cfg.maker_bps, cfg.taker_bps)
        self.slippage = BpsSlippage.from_bps(cfg.slippage_bps)
        self.instruments = {cfg.symbol: Instrument.from_spec(cfg.symbol, cfg.symbol_spec(cfg.symbol))}
        self.markets = {s: Market(i, cfg.interval_ms) for s, i in self.instruments.items()}
        self.market = self.markets[cfg.symbol]  # the replayed symbol (one per instance for now)
        self.sim_time = 0
        self.run_id = ""
        self.run_status = "idle"
        self.bars_done = 0
        self.equity_every = max(1, cfg.store.equity_every_bars)
        self._next_id = 1
        self._tran_id = 1
        # client ids for orders sent without one: random-looking like Binance's, the same sequence
        # in every run (reproducible), and no os.urandom per order (uuid4 cost ~70 µs in this VM)
        self._client_ids = random.Random(CLIENT_ID_SEED)
        self.accounts: dict[str, Account] = {}
        self.reset_accounts()

    # --- run lifecycle --------------------------------------------------------------------

    def reset_accounts(self) -> None:
        bal = money.of(self.cfg.starting_balance)
        if self.cfg.auth == "verify":
            self.accounts = {k.key: Account(k.key, money.of(k.balance) if k.balance else bal,
                                            self.cfg.default_leverage) for k in self.cfg.api_keys}
        else:
            self.accounts = {DEFAULT_ACCOUNT: Account(DEFAULT_ACCOUNT, bal, self.cfg.default_leverage)}
        self._active: set[Account] = set()  # accounts with a position or an open order

    def start_run(self, created_ms: int, params_json: str, meta: dict, start_ms: int) -> str:
        """A fresh run: new id, fresh accounts, the market rewound to `start_ms`."""
        self.run_id = str(uuid.uuid4())
        self._client_ids = random.Random(CLIENT_ID_SEED)
        self.run_status = "running"
        self.bars_done = 0
        self.sim_time = start_ms
        for m in self.markets.values():
            m.last, m.bar, m.bar_final = 0, None, True
        self.reset_accounts()
        self.recorder.run_started(self.run_id, created_ms, params_json, meta)
        return self.run_id

    def finish_run(self, status: str) -> None:
        if not self.run_id or self.run_status not in ("running", "paused"):
            return
        self.run_status = status
        final = None
        for acct in self.accounts.values():
            eq = money.to_float(self.equity(acct))
            self.recorder.equity(self.run_id, acct.name, self.sim_time, eq)
            if acct.name in (DEFAULT_ACCOUNT, next(iter(self.accounts))):
                final = eq if final is None else final
        self.recorder.run_status(self.run_id, status, self.bars_done, final)

    # --- replay ---------------------------------------------------------------------------

    @property
    def idle(self) -> bool:
        """Nothing depends on individual bars: no orders, no positions, no stream subscribers."""
        return self.trading_idle and not self.market_listener.active

    @property
    def trading_idle(self) -> bool:
        """No open order and no position anywhere: bars move prices and nothing else here."""
        return not self._active

    def jump(self, ts: int, o: int, h: int, l: int, c: int, v: float, bars: int) -> None:
        """Fast-forward over `bars` bars that change nothing but prices, ending on this one
        (see `idle`; with subscribers, the listener has taken their payloads: `on_bars`)."""
        m = self.market
        m.bar, m.bar_final, m.last = (ts, o, h, l, c, v), True, c
        self.sim_time = ts + m.interval_ms
        self.bars_done += bars
        self._roll_funding_schedule()

    def on_segment(self, ts: int, so: int, sh: int, sl: int, sc: int,
                   bo: int, bh: int, bl: int, bv: float, final: bool, now: int) -> None:
        """One step of price: the segment (so, sh, sl, sc) of the bar opened at `ts`, which is
        known so far as (bo, bh, bl, sc, bv); `now` is the sim time at the segment's end."""
        m = self.market
        if self._active:
            self._match(m, so, sh, sl, sc, now)
        self.sim_time = now
        m.last = sc
        m.bar = (ts, bo, bh, bl, sc, bv)
        m.bar_final = final
        if final:
            self.bars_done += 1
        if now >= m.next_funding_time:
            self._settle_funding(m)
        if final and self._active and self.bars_done % self.equity_every == 0:
            for acct in self._active:
                if any(p.amt for p in acct.positions.values()):
                    self.recorder.equity(self.run_id, acct.name, now, money.to_float(self.equity(acct)))
        if self.market_listener.active:
            self.market_listener.on_tick(ts, bo, bh, bl, sc, bv, final)

    def _match(self, m: Market, o: int, h: int, l: int, c: int, now: int) -> None:
        self.sim_time = now  # fills inside this segment happen at its end time
        ex = _Executor(self, m)
        for acct in list(self._active):
            orders = [x for x in acct.open_orders.values() if x.symbol == m.inst.symbol]
            if orders:
                ex.acct = acct
                matching.match_segment(orders, o, h, l, c, ex)
            self._refresh_active(acct)

    # --- funding --------------------------------------------------------------------------

    def _roll_funding_schedule(self) -> None:
        m = self.market
        while self.sim_time >= m.next_funding_time:
            self._advance_funding(m)

    def _advance_funding(self, m: Market) -> Fraction:
        if m.funding:
            rate = m.funding[m.funding_idx][1] if m.funding_idx < len(m.funding) else m.last_funding_rate
            m.funding_idx += 1
            m.next_funding_time = (m.funding[m.funding_idx][0] if m.funding_idx < len(m.funding)
                                   else m.next_funding_time + FUNDING_PERIOD_MS)
        else:
            rate = m.constant_rate or Fraction(0)
            m.next_funding_time += FUNDING_PERIOD_MS
        m.last_funding_rate = rate
        return rate

    def _settle_funding(self, m: Market) -> None:
        """Positions open at a funding time pay (rate > 0, longs) or receive amt*mark*rate."""
        while self.sim_time >= m.next_funding_time:
            when = m.next_funding_time
            rate = self._advance_funding(m)
            for acct in list(self._active):
                pos = acct.positions.get(m.inst.symbol)
                if not pos or not pos.amt or not rate:
                    continue
                pay = money.scale(rate, m.inst.notional(m.last, pos.amt))
                acct.wallet -= pay
                acct.update_time = when
                self._income(acct, m.inst.symbol, "FUNDING_FEE", -pay, when)
                for listener in self.account_listeners:
                    listener.on_balance(acct, "FUNDING_FEE")

    # --- orders ---------------------------------------------------------------------------

    def instrument(self, symbol: str) -> Instrument:
        inst = self.instruments.get(symbol)
        if inst is None:
            raise reject(E.INVALID_SYMBOL)
        return inst

    def account(self, name: str = DEFAULT_ACCOUNT) -> Account:
        return self.accounts[name]

    def new_order_id(self) -> int:
        oid = self._next_id
        self._next_id += 1
        return oid

    def new_client_id(self) -> str:
        """An id for an order sent without one (Binance makes one up too)."""
        return f"exsim-{self._client_ids.getrandbits(88):022x}"

    def place_order(self, acct: Account, req: NewOrder, dry_run: bool = False) -> Order:
        """Validate like Binance, accept, and execute what executes at once.
        With dry_run (POST /order/test) only the validation happens."""
        inst = self.instrument(req.symbol)
        m = self.markets[inst.symbol]
        order = validation.build_order(self, acct, inst, m, req)
        validation.check_placement(self, acct, inst, m, order)
        if dry_run:
            return order
        acct.orders[order.order_id] = order
        if req.algo:
            order.algo_id = self.new_order_id()
            acct.algo_orders[order.algo_id] = order
        self._event(acct, order, "NEW")
        if order.type == MARKET and not order.orig_type in CONDITIONAL:
            self._fill(acct, m, order, self.slippage.price(m.last, order.side == BUY), False)
        elif order.type == LIMIT and order.orig_type == LIMIT and matching.limit_marketable(order.side, order.price, m.last):
            price = matching.taker_price(order.side, m.last, order.price, self.slippage.price)
            self._fill(acct, m, order, price, False)
        elif order.time_in_force in ("IOC", "FOK"):
            self._close(acct, order, EXPIRED)
        else:
            acct.open_orders[order.order_id] = order
            acct.by_client_id[(order.symbol, order.client_order_id)] = order
        self._refresh_active(acct)
        return order

    def cancel_order(self, acct: Account, symbol: str, order_id: int | None, client_id: str | None) -> Order:
        self.instrument(symbol)
        order = self.find_order(acct, symbol, order_id, client_id)
        if order is None or not order.is_open:
            raise reject(E.UNKNOWN_ORDER_CANCEL)
        self._close(acct, order, CANCELED)
        self._refresh_active(acct)
        return order

    def cancel_all(self, acct: Account, symbol: str, which: Callable[[Order], bool] | None = None) -> list[Order]:
        """Cancel the symbol's open orders (those `which` selects, if given)."""
        self.instrument(symbol)
        done = [o for o in acct.open_orders.values() if o.symbol == symbol and (which is None or which(o))]
        for order in done:
            self._close(acct, order, CANCELED)
        self._refresh_active(acct)
        return done

    def find_order(self, acct: Account, symbol: str, order_id: int | None, client_id: str | None) -> Order | None:
        if order_id is not None:
            order = acct.orders.get(order_id)
        elif client_id is not None:
            order = acct.by_client_id.get((symbol, client_id))
            if order is None:  # closed orders: newest with that id
                order = next((o for o in reversed(acct.orders.values())
                              if o.client_order_id == client_id and o.symbol == symbol), None)
        else:
            raise missing_param("orderId")
        return order if order is not None and order.symbol == symbol else None

    # --- account settings -----------------------------------------------------------------

    def set_leverage(self, acct: Account, symbol: str, leverage: int) -> int:
        self.instrument(symbol)
        if not 1 <= leverage <= 125:
            raise ExchangeError(-4028, f"Leverage {leverage} is not valid")
        pos = acct.position(symbol)
        old, pos.leverage = pos.leverage, leverage
        if self.available(acct) <= 0 and pos.amt:
            pos.leverage = old
            raise ExchangeError(-2028, "Leverage is smaller than permitted: insufficient margin balance.")
        return leverage

    def set_margin_type(self, acct: Account, symbol: str, margin_type: str) -> None:
        self.instrument(symbol)
        if margin_type not in ("ISOLATED", "CROSSED"):
            raise bad_param("marginType")
        pos = acct.position(symbol)
        if pos.margin_type == margin_type:
            raise ExchangeError(-4046, "No need to change margin type.")
        if any(o.symbol == symbol for o in acct.open_orders.values()):
            raise ExchangeError(-4047, "Margin type cannot be changed if there exists open orders.")
        if pos.amt:
            raise ExchangeError(-4048, "Margin type cannot be changed if there exists position.")
        pos.margin_type = margin_type

    def set_dual_side(self, acct: Account, dual: bool) -> None:
        if dual == acct.dual_side:
            raise ExchangeError(-4059, "No need to change position side.")
        if dual:  # hedge mode is on the roadmap; refuse rather than pretend
            raise ExchangeError(-4068 if any(p.amt for p in acct.positions.values()) else -1130,
                                "Hedge mode (dualSidePosition) is not simulated: one-way mode only."
                                if not any(p.amt for p in acct.positions.values())
                                else "Position side cannot be changed if there exists position.")
        acct.dual_side = dual

    # --- valuations -----------------------------------------------------------------------

    def unrealized(self, acct: Account) -> int:
        return sum(acct.unrealized(m.inst, m.last) for m in self.markets.values())

    def equity(self, acct: Account) -> int:
        return acct.wallet + self.unrealized(acct)

    def initial_margin(self, acct: Account) -> tuple[int, int]:
        pos = sum(acct.position_margin(m.inst, m.last) for m in self.markets.values())
        orders = sum(acct.order_margin(m.inst, m.last) for m in self.markets.values())
        return pos, orders

    def available(self, acct: Account) -> int:
        pos_im, ord_im = self.initial_margin(acct)
        return max(0, self.equity(acct) - pos_im - ord_im)

    # --- internals ------------------------------------------------------------------------

    def _refresh_active(self, acct: Account) -> None:
        if acct.open_orders or any(p.amt for p in acct.positions.values()):
            self._active.add(acct)
        else:
            self._active.discard(acct)

    def _close(self, acct: Account, order: Order, status: str, reason: str = "") -> None:
        order.status = status
        order.update_time = self.sim_time
        acct.open_orders.pop(order.order_id, None)
        if acct.by_client_id.get((order.symbol, order.client_order_id)) is order:
            del acct.by_client_id[(order.symbol, order.client_order_id)]
        self._event(acct, order, status, reason=reason)

    def _event(self, acct: Account, order: Order, event: str, trade: Trade | None = None, reason: str = "") -> None:
        self.recorder.order(self.run_id, acct.name, order, event, reason)
        for listener in self.account_listeners:
            listener.on_order(acct, order, event if event != "FILLED" else "TRADE", trade)

    def _income(self, acct: Account, symbol: str, kind: str, amount: int, when: int, trade_id: int = 0) -> None:
        inc = Income(tran_id=self._tran_id, symbol=symbol, income_type=kind, income=amount, time=when,
                     trade_id=trade_id)
        self._tran_id += 1
        acct.incomes.append(inc)
        self.recorder.income(self.run_id, acct.name, inc)

    def _fill(self, acct: Account, m: Market, order: Order, price: int, is_maker: bool) -> None:
        inst = m.inst
        pos = acct.position(inst.symbol)
        qty = order.remaining
        if order.reduce_only or order.close_position:
            reducing = pos.amt != 0 and (pos.amt > 0) != (order.side == BUY)
            if not reducing:
                self._close(acct, order, EXPIRED, reason="reduce-only order would open a position")
                return
            qty = abs(pos.amt) if order.close_position else min(qty, abs(pos.amt))
            if order.close_position:
                order.qty = order.executed + qty
        now = self.sim_time
        notional = inst.notional(price, qty)
        fee = self.fee_model.fee(notional, is_maker)
        realized = acct.apply_fill(inst, order.sign, price, qty, fee, now)
        order.executed += qty
        order.cum_quote_units += price * qty
        order.update_time = now
        if order.executed >= order.qty:
            order.status = FILLED
            acct.open_orders.pop(order.order_id, None)
            if acct.by_client_id.get((order.symbol, order.client_order_id)) is order:
                del acct.by_client_id[(order.symbol, order.client_order_id)]
        trade = Trade(trade_id=self.new_order_id(), order_id=order.order_id, symbol=inst.symbol,
                      side=order.side, price=price, qty=qty, realized_pnl=realized, fee=fee,
                      is_maker=is_maker, time=now)
        acct.trades.append(trade)
        self.recorder.fill(self.run_id, acct.name, trade, inst.symbol, inst.price.to_float(price),
                           inst.qty.to_float(qty), money.to_float(realized), money.to_float(fee))
        if realized:
            self._income(acct, inst.symbol, "REALIZED_PNL", realized, now, trade.trade_id)
        if fee:
            self._income(acct, inst.symbol, "COMMISSION", -fee, now, trade.trade_id)
        self._event(acct, order, order.status, trade)
        self.recorder.equity(self.run_id, acct.name, now, money.to_float(self.equity(acct)))
        for listener in self.account_listeners:
            listener.on_balance(acct, "ORDER")
        self._expire_stale_reduce_only(acct, inst.symbol)

    def _expire_stale_reduce_only(self, acct: Account, symbol: str) -> None:
        """Once flat, resting reduce-only/close-position orders can never reduce: Binance
        expires them."""
        if acct.position(symbol).amt:
            return
        for order in [o for o in acct.open_orders.values() if o.symbol == symbol
                      and (o.reduce_only or o.close_position)]:
            self._close(acct, order, EXPIRED, reason="position closed")


class _Executor(matching.Executor):
    """Binds match_segment's callbacks to one account of the Sim."""

    def __init__(self, sim: Sim, m: Market) -> None:
        self.sim, self.m = sim, m
        self.acct: Account | None = None
        self.slip = sim.slippage.price

    def fill(self, order: Order, price: int, is_maker: bool) -> None:
        self.sim._fill(self.acct, self.m, order, price, is_maker)

    def trigger(self, order: Order) -> None:
        order.triggered = True
        order.trigger_time = self.sim.sim_time
        order.update_time = self.sim.sim_time
        self.sim._event(self.acct, order, "TRIGGERED")
