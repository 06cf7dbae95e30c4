"""The typed shapes of ExSim's HTTP API, for the OpenAPI document (`exsim/wire/openapi.py`).

Parameter Structs name what each route reads (query string, form body or JSON body: Binance
clients send any of them); response Structs what it answers, field for field as the routes
write them (taken from real answers). The routes themselves parse with `wire.params` and do
not use these classes: they are documentation, checked against the running app by
tests/pages/test_openapi_document_lists_every_route.py and test_openapi_responses_match_the_schemas.py.
"""
from __future__ import annotations

from typing import Annotated, Any, Literal, Optional, Union

import msgspec
from msgspec import Meta

# --- shared field types ---------------------------------------------------------------------

Symbol = Annotated[str, Meta(description="Contract symbol, e.g. BTCUSDT (case-insensitive).", examples=["BTCUSDT"])]
Decimal = Annotated[str, Meta(pattern=r"^-?[0-9]+(\.[0-9]+)?$", description="Decimal number as text.",
                              examples=["0.010"])]
TimeMs = Annotated[int, Meta(ge=0, description="Epoch milliseconds (sim time).")]
Interval = Literal["1m", "3m", "5m", "15m", "30m", "1h", "2h", "4h", "6h", "8h", "12h", "1d", "3d", "1w", "1M"]
Side = Literal["BUY", "SELL"]
PositionSide = Literal["BOTH", "LONG", "SHORT"]
OrderType = Literal["LIMIT", "MARKET", "STOP", "STOP_MARKET", "TAKE_PROFIT", "TAKE_PROFIT_MARKET",
                    "TRAILING_STOP_MARKET"]
TimeInForce = Literal["GTC", "IOC", "FOK", "GTX", "GTD"]
WorkingType = Literal["MARK_PRICE", "CONTRACT_PRICE"]
PriceMatch = Literal["NONE", "OPPONENT", "OPPONENT_5", "OPPONENT_10", "OPPONENT_20", "QUEUE", "QUEUE_5",
                     "QUEUE_10", "QUEUE_20"]
BoolText = Literal["true", "false"]
Speed = Union[float, Literal["max"]]
PriceLevel = Annotated[list[str], Meta(min_length=2, max_length=2, description="[price, quantity]")]
KlineRow = Annotated[list[Union[int, str]], Meta(
    min_length=12, max_length=12,
    description="[openTime, open, high, low, close, volume, closeTime, quoteVolume, trades, "
                "takerBuyBaseVolume, takerBuyQuoteVolume, ignore]")]

class _S(msgspec.Struct, kw_only=True):
    pass

# --- parameters -----------------------------------------------------------------------------

class NoParams(_S, kw_only=True):
    """No parameters."""

class Signed(_S, kw_only=True):
    """Parameters of a USER_DATA / TRADE route. With `auth = "off"` (default) the signature is
    ignored; with `auth = "verify"` `timestamp` and an HMAC-SHA256 `signature` are checked and
    the `X-MBX-APIKEY` header names the account."""
    timestamp: Optional[TimeMs] = None
    recvWindow: Optional[Annotated[int, Meta(ge=0, le=60000)]] = None
    signature: Optional[Annotated[str, Meta(description="HMAC-SHA256 of the query string and body, hex.")]] = None

class SymbolOnly(_S, kw_only=True):
    symbol: Symbol

class OptionalSymbol(_S, kw_only=True):
    symbol: Optional[Symbol] = None

class SignedSymbol(Signed, kw_only=True):
    symbol: Symbol

class SignedOptionalSymbol(Signed, kw_only=True):
    symbol: Optional[Symbol] = None

class Window(_S, kw_only=True):
    startTime: Optional[TimeMs] = None
    endTime: Optional[TimeMs] = None

class KlinesParams(Window, kw_only=True):
    symbol: Symbol
    interval: Interval
    limit: Annotated[int, Meta(ge=1, le=1500)] = 500

class PairKlinesParams(Window, kw_only=True):
    pair: Symbol
    interval: Interval
    limit: Annotated[int, Meta(ge=1, le=1500)] = 500

class ContinuousKlinesParams(PairKlinesParams, kw_only=True):
    contractType: Literal["PERPETUAL", "CURRENT_QUARTER", "NEXT_QUARTER"]

class FundingRateParams(Window, kw_only=True):
    symbol: Optional[Symbol] = None
    limit: Annotated[int, Meta(ge=1, le=1000)] = 100

class DepthParams(_S, kw_only=True):
    symbol: Symbol
    limit: Literal[5, 10, 20, 50, 100, 500, 1000] = 500

class TradesParams(_S, kw_only=True):
    symbol: Symbol
    limit: Annotated[int, Meta(ge=1, le=1000)] = 500

class HistoricalTradesParams(TradesParams, kw_only=True):
    fromId: Optional[Annotated[int, Meta(ge=0)]] = None

class AggTradesParams(Window, kw_only=True):
    symbol: Symbol
    fromId: Optional[Annotated[int, Meta(ge=0)]] = None
    limit: Annotated[int, Meta(ge=1, le=1000)] = 500

class OpenInterestHistParams(Window, kw_only=True):
    symbol: Symbol
    period: Literal["5m", "15m", "30m", "1h", "2h", "4h", "6h", "12h", "1d"]
    limit: Annotated[int, Meta(ge=1, le=500)] = 30

class LeverageParams(Signed, kw_only=True):
    symbol: Symbol
    leverage: Annotated[int, Meta(ge=1, le=125)]

class MarginTypeParams(Signed, kw_only=True):
    symbol: Symbol
    marginType: Literal["ISOLATED", "CROSSED"]

class DualSideParams(Signed, kw_only=True):
    dualSidePosition: BoolText

class MultiAssetsParams(Signed, kw_only=True):
    multiAssetsMargin: BoolText

class PositionMarginParams(Signed, kw_only=True):
    symbol: Symbol
    amount: Decimal
    type: Annotated[int, Meta(ge=1, le=2, description="1 add, 2 reduce")]
    positionSide: Optional[PositionSide] = None

class PositionMarginHistoryParams(Signed, kw_only=True):
    symbol: Symbol
    type: Optional[Annotated[int, Meta(ge=1, le=2)]] = None
    startTime: Optional[TimeMs] = None
    endTime: Optional[TimeMs] = None
    limit: Annotated[int, Meta(ge=1, le=500)] = 500

class IncomeParams(Signed, kw_only=True):
    symbol: Optional[Symbol] = None
    incomeType: Optional[Literal["REALIZED_PNL", "COMMISSION", "FUNDING_FEE", "INSURANCE_CLEAR"]] = None
    startTime: Optional[TimeMs] = None
    endTime: Optional[TimeMs] = None
    page: Optional[Annotated[int, Meta(ge=1)]] = None
    limit: Annotated[int, Meta(ge=1, le=1000)] = 100

class NewOrderParams(Signed, kw_only=True):
    """A new order (also `order/test`, `batchOrders` items). ExSim executes MARKET, LIMIT,
    STOP/STOP_MARKET, TAKE_PROFIT/TAKE_PROFIT_MARKET and TRAILING_STOP_MARKET (matching rules in
    exsim/engine/matching.py)."""
    symbol: Symbol
    side: Side
    type: OrderType
    positionSide: Optional[PositionSide] = None
    timeInForce: Optional[TimeInForce] = None
    quantity: Optional[Decimal] = None
    origQty: Optional[Annotated[Decimal, Meta(description="Alias of quantity (the spec's curl examples).")]] = None
    price: Optional[Decimal] = None
    stopPrice: Optional[Decimal] = None
    reduceOnly: Optional[BoolText] = None
    closePosition: Optional[BoolText] = None
    activationPrice: Optional[Decimal] = None
    callbackRate: Optional[Decimal] = None
    workingType: Optional[WorkingType] = None
    priceProtect: Optional[BoolText] = None
    priceMatch: Optional[PriceMatch] = None
    goodTillDate: Optional[TimeMs] = None
    newClientOrderId: Optional[Annotated[str, Meta(max_length=36)]] = None
    newOrderRespType: Optional[Literal["ACK", "RESULT"]] = None

class AlgoOrderParams(Signed, kw_only=True):
    """A conditional (algo) order: python-binance and ccxt send their stops here."""
    algoType: Literal["CONDITIONAL"]
    symbol: Symbol
    side: Side
    type: Literal["STOP", "STOP_MARKET", "TAKE_PROFIT", "TAKE_PROFIT_MARKET", "TRAILING_STOP_MARKET"]
    positionSide: Optional[PositionSide] = None
    timeInForce: Optional[TimeInForce] = None
    quantity: Optional[Decimal] = None
    price: Optional[Decimal] = None
    triggerPrice: Optional[Decimal] = None
    activatePrice: Optional[Decimal] = None
    callbackRate: Optional[Decimal] = None
    reduceOnly: Optional[BoolText] = None
    closePosition: Optional[BoolText] = None
    workingType: Optional[WorkingType] = None
    priceProtect: Optional[BoolText] = None
    clientAlgoId: Optional[Annotated[str, Meta(max_length=36)]] = None

class OrderIdParams(Signed, kw_only=True):
    """One order, by `orderId` or `origClientOrderId` (orderId wins if both are sent)."""
    symbol: Symbol
    orderId: Optional[Annotated[int, Meta(ge=0)]] = None
    origClientOrderId: Optional[str] = None

class AlgoIdParams(Signed, kw_only=True):
    algoId: Optional[Annotated[int, Meta(ge=0)]] = None
    clientAlgoId: Optional[str] = None

class ModifyOrderParams(OrderIdParams, kw_only=True):
    side: Side
    quantity: Decimal
    price: Optional[Decimal] = None
    priceMatch: Optional[PriceMatch] = None

class AllOrdersParams(Signed, kw_only=True):
    symbol: Symbol
    orderId: Optional[Annotated[int, Meta(ge=0)]] = None
    startTime: Optional[TimeMs] = None
    endTime: Optional[TimeMs] = None
    limit: Annotated[int, Meta(ge=1, le=1000)] = 500

class UserTradesParams(AllOrdersParams, kw_only=True):
    fromId: Optional[Annotated[int, Meta(ge=0)]] = None

class AllAlgoOrdersParams(Signed, kw_only=True):
    symbol: Symbol
    startTime: Optional[TimeMs] = None
    endTime: Optional[TimeMs] = None
    limit: Annotated[int, Meta(ge=1, le=100)] = 100

class OrderAmendmentParams(OrderIdParams, kw_only=True):
    startTime: Optional[TimeMs] = None
    endTime: Optional[TimeMs] = None
    limit: Annotated[int, Meta(ge=1, le=100)] = 50

class BatchOrdersParams(Signed, kw_only=True):
    batchOrders: Annotated[str, Meta(description="JSON list (at most 5) of new-order objects "
                                                 "(NewOrderParams), url-encoded or raw.")]

class BatchModifyParams(Signed, kw_only=True):
    batchOrders: Annotated[str, Meta(description="JSON list (at most 5) of modifications (ModifyOrderParams).")]

class BatchCancelParams(Signed, kw_only=True):
    symbol: Symbol
    orderIdList: Optional[Annotated[str, Meta(description="JSON list of orderId, at most 10.")]] = None
    origClientOrderIdList: Optional[Annotated[str, Meta(description="JSON list of client ids, at most 10.")]] = None

class CountdownParams(Signed, kw_only=True):
    symbol: Symbol
    countdownTime: Annotated[int, Meta(ge=0, description="Milliseconds of sim time; 0 removes the countdown.")]

class ForceOrdersParams(Signed, kw_only=True):
    symbol: Optional[Symbol] = None
    autoCloseType: Optional[Literal["LIQUIDATION", "ADL"]] = None
    startTime: Optional[TimeMs] = None
    endTime: Optional[TimeMs] = None
    limit: Annotated[int, Meta(ge=1, le=100)] = 50

class ReplayParams(_S, kw_only=True):
    """`POST /admin/replay` (JSON body): speed, and/or restart on a new range (a new run)."""
    speed_bars_per_sec: Optional[Annotated[Speed, Meta(description="Bars per second; 0 pauses; \"max\".")]] = None
    restart: bool = False
    start: Optional[Annotated[Union[int, str], Meta(description="Epoch ms or ISO date.")]] = None
    end: Optional[Annotated[Union[int, str], Meta(description="Epoch ms or ISO date (exclusive).")]] = None

class StepParams(_S, kw_only=True):
    """`POST /admin/step` (JSON body): advance exactly `bars` bars, pausing the clock first."""
    bars: Annotated[int, Meta(ge=1, le=10_000_000)] = 1

class RunsParams(_S, kw_only=True):
    limit: Optional[Annotated[int, Meta(ge=1, le=100_000, description="Newest runs first; all when absent.")]] = None


class StatusParams(_S, kw_only=True):
    reset_latency: Optional[Literal["1"]] = None
    reset_lag: Optional[Literal["1"]] = None

# --- responses ------------------------------------------------------------------------------

class Error(_S, kw_only=True):
    """Binance's error body (HTTP 400 unless noted: 401 for -2014/-2015, 429 for -1003)."""
    code: int
    msg: str

class Empty(_S, kw_only=True):
    """`{}`"""

class Done(_S, kw_only=True):
    """`{"code": 200, "msg": "..."}`: Binance's success body of some routes."""
    code: int
    msg: str

class ServerTime(_S, kw_only=True):
    serverTime: int

class RateLimit(_S, kw_only=True):
    rateLimitType: str
    interval: str
    intervalNum: int
    limit: int

class AssetInfo(_S, kw_only=True):
    asset: str
    marginAvailable: bool
    autoAssetExchange: str

class SymbolFilter(msgspec.Struct, kw_only=True):
    """One exchangeInfo filter: `filterType` plus the fields of that type (PRICE_FILTER:
    minPrice/maxPrice/tickSize; LOT_SIZE, MARKET_LOT_SIZE: minQty/maxQty/stepSize;
    MAX_NUM_ORDERS: limit; MIN_NOTIONAL: notional; PERCENT_PRICE: multiplierUp/Down/Decimal)."""
    filterType: str
    minPrice: Optional[str] = None
    maxPrice: Optional[str] = None
    tickSize: Optional[str] = None
    minQty: Optional[str] = None
    maxQty: Optional[str] = None
    stepSize: Optional[str] = None
    limit: Optional[int] = None
    notional: Optional[str] = None
    multiplierUp: Optional[str] = None
    multiplierDown: Optional[str] = None
    multiplierDecimal: Optional[str] = None

class SymbolInfo(_S, kw_only=True):
    symbol: str
    pair: str
    contractType: str
    deliveryDate: int
    onboardDate: int
    status: str
    maintMarginPercent: str
    requiredMarginPercent: str
    baseAsset: str
    quoteAsset: str
    marginAsset: str
    pricePrecision: int
    quantityPrecision: int
    baseAssetPrecision: int
    quotePrecision: int
    underlyingType: str
    underlyingSubType: list[Any]
    settlePlan: int
    triggerProtect: str
    liquidationFee: str
    marketTakeBound: str
    maxMoveOrderLimit: int
    filters: list[SymbolFilter]
    orderTypes: list[str]
    timeInForce: list[str]

class ExchangeInfo(_S, kw_only=True):
    timezone: str
    serverTime: int
    futuresType: str
    rateLimits: list[RateLimit]
    exchangeFilters: list[Any]
    assets: list[AssetInfo]
    symbols: list[SymbolInfo]

class PriceTicker(_S, kw_only=True):
    symbol: str
    price: str
    time: int

class BookTicker(_S, kw_only=True):
    symbol: str
    bidPrice: str
    bidQty: str
    askPrice: str
    askQty: str
    time: int
    lastUpdateId: int

class Ticker24h(_S, kw_only=True):
    symbol: str
    priceChange: str
    priceChangePercent: str
    weightedAvgPrice: str
    lastPrice: str
    lastQty: str
    openPrice: str
    highPrice: str
    lowPrice: str
    volume: str
    quoteVolume: str
    openTime: int
    closeTime: int
    firstId: int
    lastId: int
    count: int

class PremiumIndex(_S, kw_only=True):
    symbol: str
    markPrice: str
    indexPrice: str
    estimatedSettlePrice: str
    lastFundingRate: str
    interestRate: str
    nextFundingTime: int
    time: int

class FundingRate(_S, kw_only=True):
    symbol: str
    fundingRate: str
    fundingTime: int
    markPrice: str

class Depth(_S, kw_only=True):
    lastUpdateId: int
    E: int
    T: int
    bids: list[PriceLevel]
    asks: list[PriceLevel]

class FundingInfo(_S, kw_only=True):
    symbol: str
    adjustedFundingRateCap: str
    adjustedFundingRateFloor: str
    fundingIntervalHours: int
    disclaimer: bool
    updateTime: int

class OpenInterest(_S, kw_only=True):
    openInterest: str
    symbol: str
    time: int

class OpenInterestHist(_S, kw_only=True):
    symbol: str
    sumOpenInterest: str
    sumOpenInterestValue: str
    CMCCirculatingSupply: str
    timestamp: int

class MarketTrade(_S, kw_only=True):
    id: int
    price: str
    qty: str
    quoteQty: str
    time: int
    isBuyerMaker: bool

class AggTrade(_S, kw_only=True):
    a: int
    p: str
    q: str
    f: int
    l: int
    T: int
    m: bool

class Balance(_S, kw_only=True):
    accountAlias: str
    asset: str
    balance: str
    crossWalletBalance: str
    crossUnPnl: str
    availableBalance: str
    maxWithdrawAmount: str
    marginAvailable: bool
    updateTime: int

class AccountV2Asset(_S, kw_only=True):
    asset: str
    walletBalance: str
    unrealizedProfit: str
    marginBalance: str
    maintMargin: str
    initialMargin: str
    positionInitialMargin: str
    openOrderInitialMargin: str
    crossWalletBalance: str
    crossUnPnl: str
    availableBalance: str
    maxWithdrawAmount: str
    updateTime: int
    marginAvailable: bool

class AccountV2Position(_S, kw_only=True):
    symbol: str
    initialMargin: str
    maintMargin: str
    unrealizedProfit: str
    positionInitialMargin: str
    openOrderInitialMargin: str
    leverage: str
    isolated: bool
    entryPrice: str
    breakEvenPrice: str
    maxNotional: str
    bidNotional: str
    askNotional: str
    positionSide: str
    positionAmt: str
    updateTime: int

class AccountV2(_S, kw_only=True):
    feeTier: int
    feeBurn: bool
    canTrade: bool
    canDeposit: bool
    canWithdraw: bool
    updateTime: int
    multiAssetsMargin: bool
    tradeGroupId: int
    totalInitialMargin: str
    totalMaintMargin: str
    totalWalletBalance: str
    totalUnrealizedProfit: str
    totalMarginBalance: str
    totalPositionInitialMargin: str
    totalOpenOrderInitialMargin: str
    totalCrossWalletBalance: str
    totalCrossUnPnl: str
    availableBalance: str
    maxWithdrawAmount: str
    assets: list[AccountV2Asset]
    positions: list[AccountV2Position]

class AccountV3Asset(_S, kw_only=True):
    asset: str
    walletBalance: str
    unrealizedProfit: str
    marginBalance: str
    maintMargin: str
    initialMargin: str
    positionInitialMargin: str
    openOrderInitialMargin: str
    crossWalletBalance: str
    crossUnPnl: str
    availableBalance: str
    maxWithdrawAmount: str
    updateTime: int

class AccountV3Position(_S, kw_only=True):
    symbol: str
    positionSide: str
    positionAmt: str
    unrealizedProfit: str
    isolatedMargin: str
    notional: str
    isolatedWallet: str
    initialMargin: str
    maintMargin: str
    updateTime: int

class AccountV3(_S, kw_only=True):
    feeTier: int
    feeBurn: bool
    canTrade: bool
    canDeposit: bool
    canWithdraw: bool
    updateTime: int
    multiAssetsMargin: bool
    tradeGroupId: int
    totalInitialMargin: str
    totalMaintMargin: str
    totalWalletBalance: str
    totalUnrealizedProfit: str
    totalMarginBalance: str
    totalPositionInitialMargin: str
    totalOpenOrderInitialMargin: str
    totalCrossWalletBalance: str
    totalCrossUnPnl: str
    availableBalance: str
    maxWithdrawAmount: str
    assets: list[AccountV3Asset]
    positions: list[AccountV3Position]

class PositionRiskV2(_S, kw_only=True):
    symbol: str
    positionAmt: str
    entryPrice: str
    breakEvenPrice: str
    markPrice: str
    unRealizedProfit: str
    liquidationPrice: str
    leverage: str
    maxNotionalValue: str
    marginType: str
    isolatedMargin: str
    isAutoAddMargin: str
    positionSide: str
    notional: str
    isolatedWallet: str
    updateTime: int

class PositionRiskV3(_S, kw_only=True):
    symbol: str
    positionSide: str
    positionAmt: str
    entryPrice: str
    breakEvenPrice: str
    markPrice: str
    unRealizedProfit: str
    liquidationPrice: str
    isolatedMargin: str
    notional: str
    marginAsset: str
    isolatedWallet: str
    initialMargin: str
    maintMargin: str
    positionInitialMargin: str
    openOrderInitialMargin: str
    adl: int
    bidNotional: str
    askNotional: str
    updateTime: int

class LeverageChange(_S, kw_only=True):
    leverage: int
    maxNotionalValue: str
    symbol: str

class DualSide(_S, kw_only=True):
    dualSidePosition: bool

class MultiAssets(_S, kw_only=True):
    multiAssetsMargin: bool

class AdlQuantiles(_S, kw_only=True):
    LONG: int
    SHORT: int
    BOTH: int

class AdlQuantile(_S, kw_only=True):
    symbol: str
    adlQuantile: AdlQuantiles

class CommissionRate(_S, kw_only=True):
    symbol: str
    makerCommissionRate: str
    takerCommissionRate: str

class Income(_S, kw_only=True):
    symbol: str
    incomeType: str
    income: str
    asset: str
    info: str
    time: int
    tranId: int
    tradeId: str

class Bracket(_S, kw_only=True):
    bracket: int
    initialLeverage: int
    notionalCap: int
    notionalFloor: int
    maintMarginRatio: float
    cum: float

class LeverageBracket(_S, kw_only=True):
    symbol: str
    notionalCoef: float
    brackets: list[Bracket]

class SymbolConfig(_S, kw_only=True):
    symbol: str
    marginType: str
    isAutoAddMargin: bool
    leverage: int
    maxNotionalValue: str

class AccountConfig(_S, kw_only=True):
    feeTier: int
    canTrade: bool
    canDeposit: bool
    canWithdraw: bool
    dualSidePosition: bool
    updateTime: int
    multiAssetsMargin: bool
    tradeGroupId: int

class ListenKey(_S, kw_only=True):
    listenKey: str

class Order(_S, kw_only=True):
    """An order as Binance answers it (new, query, cancel, modify, batch items)."""
    orderId: int
    symbol: str
    status: str
    clientOrderId: str
    price: str
    avgPrice: str
    origQty: str
    executedQty: str
    cumQty: str
    cumQuote: str
    timeInForce: str
    type: str
    origType: str
    reduceOnly: bool
    closePosition: bool
    side: str
    positionSide: str
    stopPrice: str
    workingType: str
    priceProtect: bool
    priceMatch: str
    selfTradePreventionMode: str
    goodTillDate: int
    updateTime: int
    time: Annotated[int, Meta(description="Order time: in queries, not in a new order's answer.")] = 0

class UserTrade(_S, kw_only=True):
    symbol: str
    id: int
    orderId: int
    side: str
    price: str
    qty: str
    realizedPnl: str
    quoteQty: str
    commission: str
    commissionAsset: str
    time: int
    positionSide: str
    buyer: bool
    maker: bool

class AlgoOrder(_S, kw_only=True):
    algoId: int
    clientAlgoId: str
    algoType: str
    orderType: str
    symbol: str
    side: str
    positionSide: str
    timeInForce: str
    quantity: str
    algoStatus: str
    triggerPrice: str
    price: str
    icebergQuantity: Optional[str]
    selfTradePreventionMode: str
    workingType: str
    priceMatch: str
    closePosition: bool
    priceProtect: bool
    reduceOnly: bool
    activatePrice: str
    callbackRate: str
    createTime: int
    updateTime: int
    triggerTime: int
    goodTillDate: int
    actualOrderId: str
    actualPrice: str
    actualQty: str

class CountdownCancelAll(_S, kw_only=True):
    symbol: str
    countdownTime: str

class OrderRateLimit(_S, kw_only=True):
    rateLimitType: str
    interval: str
    intervalNum: int
    limit: int
    count: int

class AdminMarket(_S, kw_only=True):
    symbol: str
    status: str
    last_price: str
    mark_price: str
    mark_source: str
    data_end: int
    open_orders: int

class AdminPosition(_S, kw_only=True):
    qty: float
    avg_price: float

class AdminLatency(_S, kw_only=True):
    frames: int

class AdminStatus(_S, kw_only=True):
    symbol: str
    symbols: list[str]
    markets: list[AdminMarket]
    interval: str
    run_id: str
    run_status: str
    ws_clients: int
    bars_loaded: int
    bars_done: int
    equity_now: float
    balance: str
    position: AdminPosition
    leverage: int
    margin_type: str
    dual_side: bool
    sim_time: int
    insurance_fund: str
    progress: float
    speed: Speed
    paused: bool
    finished: bool
    bars_per_sec_actual: float
    dropped_clients: int
    ws_messages_sent: int
    listen_keys: int
    user_stream_messages_sent: int
    user_stream_change_to_frame_ms: AdminLatency
    data_source: str
    start: int
    end: int
    accounts: int
    writer_error: Optional[str]

class AdminPaused(_S, kw_only=True):
    ok: bool
    paused: bool

class AdminResumed(_S, kw_only=True):
    ok: bool
    paused: bool
    speed: Speed

class AdminStepped(_S, kw_only=True):
    ok: bool
    bars: int
    sim_time: int
    bars_done: int
    finished: bool

class AdminReplayed(_S, kw_only=True):
    ok: bool
    run_id: str
    bars: int
    speed: Speed

class LiveHello(_S, kw_only=True):
    """First client frame on `/admin/live` (the live page's feed)."""
    token: str = ""
    symbol: Optional[Symbol] = None
