"""`Sim`: the one object that owns a replay's state (markets, books, accounts, run) and the
rules that change it.

Commands in: every state-changing request is a typed command (engine/commands.py) applied at
one entry point, `Sim.apply`, which returns the result and the events it caused. Validation
(engine/validation.py) only reads state; ids (orderId, tradeId, tranId, default client ids)
are drawn only once a command is accepted.

One ordered event log out: every state change is appended to `Sim.log` (engine/events.py)
and published to its consumers after each command and each clock batch.

A book per symbol (engine/book.py): the clock feeds price segments per symbol
(`on_segment`), and each symbol's book matches the resting and conditional orders of every
account in path order. The Sim knows nothing of HTTP or DuckDB.
"""
from __future__ import annotations

import random
import uuid
from typing import Iterable, Optional

from ..config import Config
from . import errors as E
from . import arrival, funding, liquidation, matching, money, risk, settings, validation
from .account import Account, Income, Trade
from .amend import Amendments, modify  # order amendments (PUT /fapi/v1/order) and their history
from .bars import BarChunk
from .commands import (Applied, ApplyFunding, CancelAll, CancelOrder, ChangePositionMargin, ModifyOrder, NewOrder,
                       PlaceOrder, SetCountdownCancel, SetLeverage, SetMarginType, SetMultiAssets, SetPositionMode)
from .countdown import Countdowns  # countdownCancelAll, in sim time
from .errors import missing_param, reject
from .events import (AccountUpdated, EquityMarked, EventLog, IncomeBooked, MarketListener, OrderUpdated, RunStarted,
                     RunStatus)
from .fees import BpsSlippage, MakerTakerFee
from .instrument import Instrument
from .latency import Latency
from .liquidity import VolumeCap
from .market import Market
from .orders import BUY, CANCELED, CONDITIONAL, EXPIRED, FILLED, PARTIALLY_FILLED, Order

DEFAULT_ACCOUNT = "default"
CLIENT_ID_SEED = "exsim-client-order-ids"


class Sim:
    def __init__(self, cfg: Config, symbols: Optional[Iterable[str]] = None) -> None:
        self.cfg = cfg
        self.log = EventLog()
        self.market_listener: MarketListener = MarketListener()
        self.fee_model = MakerTakerFee.from_bps(cfg.maker_bps, cfg.taker_bps)
        self.slippage = BpsSlippage.from_bps(cfg.slippage_bps)
        self.instruments: dict[str, Instrument] = {}
        self.markets: dict[str, Market] = {}
        self.by_index: list[Market] = []
        self.set_markets(cfg.requested_symbols if symbols is None else symbols)
        self.sim_time = 0
        self.run_id = ""
        self.run_status = "idle"
        self.bars_done = 0  # clock steps (bar open times) replayed in this run
        self.equity_every = max(1, cfg.store.equity_every_bars)
        self._next_order_id = 1
        self._next_trade_id = 1
        self._next_tran_id = 1
        # client ids for orders sent without one: random-looking like Binance's, the same sequence
        # in every run (reproducible), and no os.urandom per order (uuid4 cost ~70 µs in this VM)
        self._client_ids = random.Random(CLIENT_ID_SEED)
        self.accounts: dict[str, Account] = {}
        self._exposed: dict[str, Account] = {}  # accounts with a position, in account order
        self.risk = risk.RiskWatch(self)
        self.risk_epoch = 0  # bumped by every change a liquidation level depends on (touch)
        # fill realism, off by default (engine/liquidity.py, engine/latency.py, matching.py)
        self.liquidity = VolumeCap(cfg.max_participation) if cfg.max_participation else None
        self.latency = Latency(cfg.latency_ms, cfg.latency_jitter_ms, cfg.latency_seed)
        self.ambiguous_fills = 0
        self.insurance_fund = 0  # money units: clearance fees in, deficits out (engine/liquidation.py)
        self.amendments, self.countdowns = Amendments(), Countdowns()  # per run (start_run)
        self.reset_accounts()

    def set_markets(self, symbols: Iterable[str]) -> None:
        """The replayed symbols, in this order (a bar chunk's `sym` indexes it)."""
        names = list(dict.fromkeys(symbols))
        self.instruments = {s: Instrument.from_spec(s, self.cfg.symbol_spec(s)) for s in names}
        self.fees = {s: self._fee_model(s) for s in names}
        self.markets = {s: Market(i, self.instruments[s], self.cfg.interval_ms) for i, s in enumerate(names)}
        self.by_index = list(self.markets.values())

    def _fee_model(self, symbol: str) -> MakerTakerFee:
        """The symbol's commission ([symbol_specs.X] maker_bps / taker_bps), else the config's."""
        spec, cfg = self.cfg.symbol_spec(symbol), self.cfg
        return MakerTakerFee.from_bps(cfg.maker_bps if spec.maker_bps is None else spec.maker_bps,
                                      cfg.taker_bps if spec.taker_bps is None else spec.taker_bps)

    @property
    def market(self) -> Market:
        """The first replayed symbol's market (single-symbol code and tests)."""
        return self.by_index[0]

    # --- run lifecycle --------------------------------------------------------------------

    def reset_accounts(self) -> None:
        bal = money.of(self.cfg.starting_balance)
        if self.cfg.auth == "verify":
            self.accounts = {k.key: Account(k.key, money.of(k.balance) if k.balance else bal,
                                            self.cfg.default_leverage) for k in self.cfg.api_keys}
        else:
            self.accounts = {DEFAULT_ACCOUNT: Account(DEFAULT_ACCOUNT, bal, self.cfg.default_leverage)}
        self._exposed = {}
        self.risk.clear()
        for m in self.by_index:
            m.book.clear()

    def start_run(self, created_ms: int, params_json: str, meta: dict, start_ms: int,
                  run_id: Optional[str] = None) -> str:
        """A fresh run: new id (or `run_id`: a re-execution), fresh accounts and ids, the
        markets rewound to `start_ms`."""
        self.run_id = run_id or str(uuid.uuid4())
        self._client_ids = random.Random(CLIENT_ID_SEED)
        self._next_order_id = self._next_trade_id = self._next_tran_id = 1
        self.insurance_fund = 0
        self.ambiguous_fills = 0
        self.latency.reset()
        if self.liquidity is not None:
            self.liquidity.reset()
        self.run_status = "running"
        self.bars_done = 0
        self.sim_time = start_ms
        self.amendments, self.countdowns = Amendments(), Countdowns()
        for m in self.by_index:
            m.reset()
        self.reset_accounts()
        self.log.append(RunStarted(time=start_ms, run_id=self.run_id, created_ms=created_ms,
                                   params_json=params_json, meta=meta))
        self.log.publish()
        return self.run_id

    def finish_run(self, status: str) -> None:
        if not self.run_id or self.run_status not in ("running", "paused"):
            return
        self.run_status = status
        final = None
        for acct in self.accounts.values():
            eq = self.equity(acct)
            self._equity_point(acct, eq)
            final = money.to_float(eq) if final is None else final  # the first (default) account's
        self.log.append(RunStatus(time=self.sim_time, run_id=self.run_id, status=status, bars=self.bars_done,
                                  final_equity=final))
        self.log.publish()

    # --- commands in ----------------------------------------------------------------------

    def apply(self, cmd) -> Applied:
        """The engine's one entry point: apply a command, publish the events it caused.
        A refused command raises ExchangeError having changed nothing."""
        match cmd:
            case PlaceOrder():
                result = self._place(self.account(cmd.account), cmd.order, cmd.test)
            case CancelOrder():
                result = self._cancel(self.account(cmd.account), cmd)
            case CancelAll():
                result = self._cancel_all(self.account(cmd.account), cmd.symbol, cmd.scope)
            case SetLeverage():
                result = settings.set_leverage(self, self.account(cmd.account), cmd.symbol, cmd.leverage)
            case SetMarginType():
                result = settings.set_margin_type(self, self.account(cmd.account), cmd.symbol, cmd.margin_type)
            case SetPositionMode():
                result = settings.set_dual_side(self, self.account(cmd.account), cmd.dual_side)
            case SetMultiAssets():
                result = settings.set_multi_assets(self, self.account(cmd.account), cmd.multi_assets)
            case ChangePositionMargin():
                result = settings.change_position_margin(self, self.account(cmd.account), cmd.symbol,
                                                         cmd.position_side, cmd.amount, cmd.kind)
            case ApplyFunding():
                result = funding.pay(self, self.markets[cmd.symbol], cmd.funding_time, cmd.rate)
            case ModifyOrder():
                result = modify(self, self.account(cmd.account), cmd)
            case SetCountdownCancel():
                result = self.countdowns.set(self, self.account(cmd.account), cmd)
            case _:
                raise TypeError(f"not an engine command: {type(cmd).__name__}")
        return Applied(result, self.log.publish())

    def publish(self) -> None:
        """Hand what the clock's last batch caused (fills, triggers, funding) to the consumers."""
        if self.log.pending:
            self.log.publish()

    # --- replay ---------------------------------------------------------------------------

    @property
    def idle(self) -> bool:
        """Nothing depends on individual bars: no orders, no positions, no stream subscribers."""
        return self.trading_idle and not self.market_listener.active

    @property
    def trading_idle(self) -> bool:
        """No open order (resting, or still on its way to the book: latency) and no position
        anywhere: bars move prices and nothing else here."""
        return not self._exposed and not any(m.book for m in self.by_index) and not any(self.latency.in_flight.values())

    def on_chunk(self, chunk: BarChunk) -> None:
        """The clock moved to this chunk: index its mark-price klines by symbol and open time."""
        if chunk.mark is None:
            return
        for m in self.by_index:
            m.mark_bars = {}
        sym = chunk.sym
        for k, ts in enumerate(chunk.ts):
            self.by_index[0 if sym is None else sym[k]].mark_bars[ts] = (
                chunk.mark_high[k], chunk.mark_low[k], chunk.mark[k])

    def jump(self, chunk: BarChunk, i: int, j: int, steps: int) -> None:
        """Fast-forward over rows i..j-1 (`steps` steps) that change nothing but prices (see
        `idle`; with subscribers, the listener has taken their payloads: `on_bars`)."""
        sym = chunk.sym
        if sym is None:
            rows: Iterable[int] = (j - 1,)
        else:  # each symbol's last bar in the run
            last: dict[int, int] = {}
            for k in range(j - 1, i - 1, -1):
                last.setdefault(sym[k], k)
                if len(last) == len(self.by_index):
                    break
            rows = last.values()
        for k in rows:
            m = self.by_index[0 if sym is None else sym[k]]
            m.bar, m.bar_final, m.last = (chunk.ts[k], chunk.open[k], chunk.high[k], chunk.low[k],
                                          chunk.close[k], chunk.volume[k]), True, chunk.close[k]
            m.mark = chunk.mark[k] if chunk.mark is not None and chunk.mark[k] else chunk.close[k]
        self.sim_time = chunk.ts[j - 1] + self.cfg.interval_ms
        self.bars_done += steps
        for m in self.by_index:  # no positions: funding times pass without payments
            while self.sim_time >= m.next_funding_time:
                m.advance_funding()

    def on_segment(self, sym: int, ts: int, so: int, sh: int, sl: int, sc: int,
                   bo: int, bh: int, bl: int, bv: float, final: bool, now: int) -> None:
        """One step of price of symbol `sym`: the segment (so, sh, sl, sc) of its bar opened at
        `ts`, which is known so far as (bo, bh, bl, sc, bv); `now` is the sim time at the
        segment's end (fills inside the segment happen then)."""
        m = self.by_index[sym]
        if self.liquidity is not None:
            self.liquidity.on_segment(m.inst.symbol, ts, bv)
        if self.latency.in_flight.get(m.inst.symbol):
            arrival.deliver(self, m, so, sh, sl, sc, now)
        self.sim_time = now
        if now >= self.countdowns.next_at:  # a countdownCancelAll ran out: cancel before matching
            self.countdowns.fire(self, now)
        if m.book:
            ex = _Executor(self, m)
            if ex.queue:  # what this segment traded per price level (its share of the bar's volume)
                seg_volume = bv - (m.bar[5] if m.bar is not None and m.bar[0] == ts and not m.bar_final else 0.0)
                ex.level_volume = seg_volume / (sh - sl + 1)
            m.book.match(so, sh, sl, sc, ex)
        if m.arrived:  # arrived during this segment (latency): in the book from the next one
            for order in m.arrived:
                if order.is_open:
                    m.book.add(order)
            m.arrived.clear()
        m.last = sc
        if not m.has_mark_data:
            m.mark = sc
            if self._exposed:
                b = m.risk_bounds  # (epoch, marks or None, low, high): RiskWatch.check
                if b is None or b[0] != self.risk_epoch or sl <= b[2] or sh >= b[3] or b[1] is not None:
                    self._check_risk(m, sl, sh, sc)
        elif final:  # the bar's mark kline, once the bar has closed (no look-ahead)
            mk = m.mark_bars.get(ts)
            if mk is not None and mk[2]:
                m.mark = mk[2]
                if self._exposed:
                    self._check_risk(m, mk[1], mk[0], mk[2])
        m.bar = (ts, bo, bh, bl, sc, bv)
        m.bar_final = final
        if now >= m.next_funding_time:
            funding.settle(self, m)
        if self.market_listener.active:
            self.market_listener.on_tick(sym, ts, bo, bh, bl, sc, bv, final)

    def step_done(self, now: int) -> None:
        """Every symbol's bar of one open time has closed: count it, mark equity."""
        self.bars_done += 1
        if self._exposed and self.bars_done % self.equity_every == 0:
            for acct in list(self._exposed.values()):
                self._equity_point(acct, self.equity(acct))

    def _check_risk(self, m: Market, low: int, high: int, close: int) -> None:
        """Margin calls and liquidations the mark path low..high reached (engine/risk.py)."""
        hits = self.risk.check(self._exposed.values(), m.inst.symbol, low, high, close)
        for acct, watch, what in hits:
            if what == "call":
                liquidation.margin_call(self, acct, watch)
            else:
                liquidation.liquidate(self, acct, watch)

    def touch(self, acct: Account) -> None:
        """`acct` changed in a way its liquidation levels depend on (engine/risk.py)."""
        acct.version += 1
        self.risk_epoch += 1

    def draw_order_id(self) -> int:
        oid = self._next_order_id
        self._next_order_id += 1
        return oid

    def draw_trade_id(self) -> int:
        tid = self._next_trade_id
        self._next_trade_id += 1
        return tid

    # --- orders ---------------------------------------------------------------------------

    def instrument(self, symbol: str) -> Instrument:
        inst = self.instruments.get(symbol)
        if inst is None:
            raise reject(E.INVALID_SYMBOL)
        return inst

    def account(self, name: str = DEFAULT_ACCOUNT) -> Account:
        return self.accounts[name]

    def new_client_id(self) -> str:
        """An id for an order sent without one (Binance makes one up too)."""
        return f"exsim-{self._client_ids.getrandbits(88):022x}"

    def _place(self, acct: Account, req: NewOrder, test: bool) -> Order:
        """Validate like Binance; accepted, draw its ids and execute what executes at once.
        A test order (POST /order/test) is only validated: no id, no event."""
        inst = self.instrument(req.symbol)
        m = self.markets[inst.symbol]
        if not m.trading(self.sim_time):
            raise reject(E.SYMBOL_NOT_TRADING)
        order = validation.build_order(self, acct, inst, m, req)
        validation.check_placement(self, acct, inst, m, order)
        if test:
            return order
        order.order_id = self._next_order_id
        self._next_order_id += 1
        if not order.client_order_id:
            order.client_order_id = self.new_client_id()
        if req.algo:
            order.algo_id = self._next_order_id
            self._next_order_id += 1
            if not order.client_algo_id:
                order.client_algo_id = order.client_order_id
            acct.algo_orders[order.algo_id] = order
        acct.orders[order.order_id] = order
        if self.latency:  # NEW now, open (cancellable) in flight; it executes on arrival
            self._list(acct, order)
            self._order_event(acct, order, "NEW")
            self.latency.send(order, self.sim_time)
        else:
            arrival.arrive(self, acct, m, order, m.last, announce=True)
        return order

    def _list(self, acct: Account, order: Order) -> None:
        """The order is open: among the account's open orders (cancellable, counted)."""
        acct.open_orders[order.order_id] = order
        acct.by_client_id[(order.symbol, order.client_order_id)] = order

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

    def find_algo(self, acct: Account, algo_id: int | None, client_algo_id: str | None) -> Order | None:
        if algo_id is None and client_algo_id is None:
            raise missing_param("algoId")
        if algo_id is not None:
            return acct.algo_orders.get(algo_id)
        return next((o for o in reversed(acct.algo_orders.values()) if o.client_algo_id == client_algo_id), None)

    def _cancel(self, acct: Account, cmd: CancelOrder) -> Order:
        if cmd.scope == "algo":
            order = self.find_algo(acct, cmd.order_id, cmd.client_order_id)
        else:
            self.instrument(cmd.symbol)
            order = self.find_order(acct, cmd.symbol, cmd.order_id, cmd.client_order_id)
            if cmd.scope == "order" and not in_order_scope(order):
                order = None
        if order is None or not order.is_open:
            raise reject(E.UNKNOWN_ORDER_CANCEL)
        self._close(acct, order, CANCELED)
        return order

    def _cancel_all(self, acct: Account, symbol: str, scope: str) -> list[Order]:
        """Cancel the symbol's open orders: `order` those of the /order family (untriggered algo
        orders stay, as on Binance), `algo` the untriggered algo orders, `any` all."""
        self.instrument(symbol)
        done = [o for o in acct.open_orders.values() if o.symbol == symbol and (
            scope == "any" or (scope == "order") == in_order_scope(o))]
        for order in done:
            self._close(acct, order, CANCELED)
        return done

    # --- valuations -----------------------------------------------------------------------

    # (at mark price; engine/risk.py has the formulas)
    def unrealized(self, acct: Account) -> int:
        return risk.unrealized(self, acct)

    def equity(self, acct: Account) -> int:
        return risk.equity(self, acct)

    def initial_margin(self, acct: Account) -> tuple[int, int]:
        return risk.initial_margin(self, acct)

    def available(self, acct: Account) -> int:
        return risk.available(self, acct)

    # --- internals ------------------------------------------------------------------------

    def _order_event(self, acct: Account, order: Order, exec_type: str, trade: Trade | None = None,
                     reason: str = "") -> None:
        bids = asks = 0
        if acct.open_orders:
            inst = self.instruments[order.symbol]
            for o in acct.open_orders.values():
                if o.symbol == order.symbol:
                    value = inst.notional(o.price or o.stop_price, o.remaining)
                    if o.side == BUY:
                        bids += value
                    else:
                        asks += value
        self.log.append(OrderUpdated(time=self.sim_time, account=acct.name, exec_type=exec_type,
                                     order=order.__copy__(), reason=reason, trade=trade, bids=bids, asks=asks))

    def _equity_point(self, acct: Account, equity: int) -> None:
        self.log.append(EquityMarked(time=self.sim_time, account=acct.name, equity=equity))

    def _unlist(self, acct: Account, order: Order) -> None:
        """The order is no longer open: out of the account's open orders and the book."""
        acct.open_orders.pop(order.order_id, None)
        if acct.by_client_id.get((order.symbol, order.client_order_id)) is order:
            del acct.by_client_id[(order.symbol, order.client_order_id)]
        self.markets[order.symbol].book.remove(order)

    def _close(self, acct: Account, order: Order, status: str, reason: str = "") -> None:
        order.status = status
        order.update_time = self.sim_time
        self._unlist(acct, order)
        self._order_event(acct, order, status, reason=reason)

    def _income(self, acct: Account, symbol: str, kind: str, amount: int, when: int, trade_id: int = 0) -> None:
        inc = Income(tran_id=self._next_tran_id, symbol=symbol, income_type=kind, income=amount, time=when,
                     trade_id=trade_id)
        self._next_tran_id += 1
        acct.incomes.append(inc)
        self.log.append(IncomeBooked(time=when, account=acct.name, income=inc))

    def _fill(self, acct: Account, m: Market, order: Order, price: int, is_maker: bool,
              alt_price: int = 0) -> None:
        """Fill what of the order can fill at `price` (all of it, unless it only reduces a smaller
        position or the bar's volume cap leaves less): PARTIALLY_FILLED or FILLED."""
        inst = m.inst
        pos = acct.position(inst.symbol, order.position_side)
        qty = order.remaining
        if order.closes:
            reducing = pos.amt != 0 and (pos.amt > 0) != (order.side == BUY)
            if not reducing:
                self._close(acct, order, EXPIRED, reason="reduce-only order would open a position")
                return
            qty = abs(pos.amt) if order.close_position else min(qty, abs(pos.amt))
            if order.close_position:
                order.qty = order.executed + qty
        if self.liquidity is not None:
            qty = self.liquidity.take(inst, qty)
            if not qty:
                return  # the bar's volume is taken: it waits for the next one
        now = self.sim_time
        notional = inst.notional(price, qty)
        fee = self.fees[inst.symbol].fee(notional, is_maker)
        realized = acct.apply_fill(inst, pos, order.sign, price, qty, fee, now)
        self.risk_epoch += 1
        order.executed += qty
        order.cum_quote_units += price * qty
        order.update_time = now
        if order.executed >= order.qty:
            order.status = FILLED
            self._unlist(acct, order)
        else:
            order.status = PARTIALLY_FILLED
        ambiguous = bool(alt_price)
        if ambiguous:
            order.ambiguous = True
            self.ambiguous_fills += 1
        trade = Trade(trade_id=self._next_trade_id, order_id=order.order_id, symbol=inst.symbol,
                      side=order.side, price=price, qty=qty, realized_pnl=realized, fee=fee,
                      is_maker=is_maker, time=now, position_side=order.position_side, ambiguous=ambiguous,
                      alt_price=alt_price)
        self._next_trade_id += 1
        acct.trades.append(trade)
        self._order_event(acct, order, "TRADE", trade)
        self.log.append(AccountUpdated(time=now, account=acct.name, reason="ORDER", wallet=acct.wallet,
                                       isolated=acct.isolated_wallets(), positions=[pos.__copy__()],
                                       marks=[m.mark]))
        if realized:
            self._income(acct, inst.symbol, "REALIZED_PNL", realized, now, trade.trade_id)
        if fee:
            self._income(acct, inst.symbol, "COMMISSION", -fee, now, trade.trade_id)
        self._track_exposure(acct)
        self._equity_point(acct, self.equity(acct))
        self._expire_stale_reduce_only(acct, inst.symbol)

    def _track_exposure(self, acct: Account) -> None:
        if any(p.amt for p in acct.positions.values()):
            if acct.name not in self._exposed:  # re-sorted into account order (deterministic)
                self._exposed[acct.name] = acct
                self._exposed = {n: a for n, a in self.accounts.items() if n in self._exposed}
        else:
            self._exposed.pop(acct.name, None)

    def _expire_stale_reduce_only(self, acct: Account, symbol: str) -> None:
        """Once flat, resting reduce-only LIMIT orders can never reduce: Binance expires them.
        Conditional ones (STOP/TP/trailing, reduceOnly or closePosition, legacy or algo) stay
        open, as on Binance: they expire only if they trigger while there is nothing to reduce."""
        if acct.dual_side or acct.position(symbol).amt:
            return
        for order in [o for o in acct.open_orders.values() if o.symbol == symbol and o.reduce_only
                      and (o.orig_type not in CONDITIONAL or o.triggered)]:
            self._close(acct, order, EXPIRED, reason="position closed")


def in_order_scope(order: Order | None) -> bool:
    """The order as the /fapi/v1/order family sees it: an algo (conditional) order only becomes
    a matching-engine order once it has triggered; before that it exists on the algo routes
    alone, as on Binance."""
    return order is not None and not (order.algo_id and not order.triggered)


class _Executor(matching.Executor):
    """Binds match_segment's callbacks to the Sim: each order books on its own account."""

    __slots__ = ("sim", "m", "slip", "through", "queue", "level_volume")

    def __init__(self, sim: Sim, m: Market) -> None:
        self.sim, self.m = sim, m
        self.slip = sim.slippage.price
        self.through = sim.cfg.limit_fill == "through"
        self.queue = sim.cfg.queue == "volume"
        self.level_volume = 0.0

    def fill(self, order: Order, price: int, is_maker: bool, alt_price: int = 0) -> None:
        self.sim._fill(self.sim.accounts[order.account], self.m, order, price, is_maker, alt_price)

    def trigger(self, order: Order) -> None:
        sim = self.sim
        order.triggered = True
        order.trigger_time = order.update_time = sim.sim_time
        sim._order_event(sim.accounts[order.account], order, "TRIGGERED")
